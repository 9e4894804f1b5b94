/**
 * The shared helpers of src/util/, each tested once here: backoff with jitter, the warning
 * throttle, address parsing, the options helper, the parts lifecycle; and the peer dialer's
 * backoff on a fake clock.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { backoffDelay } from '../../src/util/backoff.ts'
import { WarnThrottle } from '../../src/util/warn-throttle.ts'
import { parseHostPort, boundUrl, urlHost } from '../../src/util/address.ts'
import { resolveOptions, integerIn, isBoolean } from '../../src/util/options.ts'
import { Parts } from '../../src/util/parts.ts'
import { InvalidOptionError } from '../../src/core/errors.ts'
import { PeerDialer } from '../../src/discovery/peer-dialer.ts'

test('backoff: base * 2^(n-1), capped, between half and all of it', () => {
  const o = { baseMs: 1000, maxMs: 10_000 }
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(n => backoffDelay(n, o, () => 1)), [1000, 2000, 4000, 8000, 10_000, 10_000])
  assert.deepEqual([1, 2, 3].map(n => backoffDelay(n, o, () => 0)), [500, 1000, 2000])
  assert.equal(backoffDelay(0, o, () => 1), 1000, 'no failure yet: the base')
  assert.equal(backoffDelay(1000, o, () => 1), 10_000, 'huge counts do not overflow')
})

test('warning throttle: a few per minute, then a count of what was held back', () => {
  let now = 0
  const out: string[] = []
  const throttle = new WarnThrottle(m => out.push(m), 2, () => now)
  assert.equal(throttle.warn('a'), true)
  assert.equal(throttle.warn('b'), true)
  assert.equal(throttle.warn('c'), false)
  throttle.warn('d')
  now = 60_000
  throttle.warn('e')
  assert.deepEqual(out, ['a', 'b', '(2 similar warnings not shown)', 'e'])
})

test('addresses: host:port and [v6]:port parse; junk and port 0 do not; bound URLs', () => {
  assert.deepEqual(parseHostPort('10.0.0.1:6881'), { host: '10.0.0.1', port: 6881 })
  assert.deepEqual(parseHostPort('[2001:db8::1]:51413'), { host: '2001:db8::1', port: 51413 })
  assert.deepEqual(parseHostPort(' example.org:80 '), { host: 'example.org', port: 80 })
  for (const bad of ['10.0.0.1', '10.0.0.1:0', '10.0.0.1:65536', ':80', 'a:b', '']) assert.equal(parseHostPort(bad), undefined, bad)
  assert.equal(urlHost('::'), '127.0.0.1')
  assert.equal(urlHost('0.0.0.0'), '127.0.0.1')
  assert.equal(boundUrl('http', '::1', 8080), 'http://[::1]:8080')
  assert.equal(boundUrl('ws', '127.0.0.2', 1), 'ws://127.0.0.2:1')
})

test('options: defaults fill in, undefined means the default, unknown names and bad values name the option', () => {
  const defaults = { port: 6881, watch: true }
  const spec = { port: integerIn(0, 65535), watch: isBoolean }
  assert.deepEqual(resolveOptions('svc', defaults, spec, { port: 0, watch: undefined }), { port: 0, watch: true })
  assert.deepEqual(resolveOptions('svc', defaults, spec, undefined), defaults)
  assert.throws(() => resolveOptions('svc', defaults, spec, { prot: 1 }), (e: unknown) => e instanceof InvalidOptionError && e.option === 'svc.prot' && e.code === 'ERR_INVALID_OPTION' && /unknown option/.test(e.message))
  assert.throws(() => resolveOptions('svc', defaults, spec, { port: 70000 }), (e: unknown) => e instanceof InvalidOptionError && e.option === 'svc.port' && /0 to 65535, got 70000/.test(e.message))
  assert.throws(() => resolveOptions('', defaults, spec, { watch: 'yes' }), (e: unknown) => e instanceof InvalidOptionError && e.option === 'watch')
  assert.deepEqual(resolveOptions('svc', defaults, spec, { port: 1, extra: 2 }, ['extra']), { port: 1, watch: true }, 'pass-through names are skipped')
})

test('parts: started in order, closed in reverse; a failing close is reported and the rest still close', async () => {
  const log: string[] = []
  const errors: string[] = []
  const parts = new Parts((err, p) => errors.push(`${p.name}: ${(err as Error).message}`))
  for (const name of ['a', 'b', 'c']) {
    parts.add({
      name,
      start: () => { log.push(`start ${name}`) },
      close: () => { log.push(`close ${name}`); if (name === 'b') throw new Error('boom') },
      listening: () => [{ name, address: 'x', port: 1 }],
      status: () => ({ name })
    })
  }
  await parts.start()
  await parts.start() // idempotent
  assert.deepEqual(parts.listening().map(l => l.name), ['a', 'b', 'c'])
  assert.deepEqual(parts.status(), { a: { name: 'a' }, b: { name: 'b' }, c: { name: 'c' } })
  await parts.close()
  assert.deepEqual(log, ['start a', 'start b', 'start c', 'close c', 'close b', 'close a'])
  assert.deepEqual(errors, ['b: boom'])
})

test('parts: a start that fails leaves the started ones for close, in reverse', async () => {
  const log: string[] = []
  const parts = new Parts(() => {})
  parts.add({ name: 'a', start: () => { log.push('start a') }, close: () => { log.push('close a') } })
  parts.add({ name: 'b', start: () => { throw new Error('port in use') }, close: () => { log.push('close b') } })
  await assert.rejects(parts.start(), /port in use/)
  await parts.close()
  assert.deepEqual(log, ['start a', 'close b', 'close a'])
})

test('peer dialer: a failed dial backs off on the injected clock; a working one is not redialed soon', async () => {
  let now = 0
  const dialed: string[] = []
  let fail = true
  const dialer = new PeerDialer(async (host, port) => {
    dialed.push(`${host}:${port}@${now}`)
    if (fail) throw new Error('refused')
    return { id: dialed.length }
  }, { now: () => now, retryBaseMs: 1000, retryMaxMs: 8000, redialAfterMs: 60_000 })
  const h = 'a'.repeat(40)
  dialer.add(h, ['10.0.0.1:1'])
  await new Promise(resolve => setImmediate(resolve))
  dialer.add(h, ['10.0.0.1:1']) // within the backoff: skipped
  now = 1000 // past the longest first backoff (base 1000, jitter: 500-1000)
  dialer.add(h, ['10.0.0.1:1'])
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(dialed, ['10.0.0.1:1@0', '10.0.0.1:1@1000'])
  fail = false
  now = 3000 // past the second backoff (1000-2000)
  dialer.add(h, ['10.0.0.1:1'])
  await new Promise(resolve => setImmediate(resolve))
  now = 30_000
  dialer.add(h, ['10.0.0.1:1']) // connected 27 s ago: not again before redialAfterMs
  assert.equal(dialed.length, 3)
  assert.equal(dialer.stats().skipped, 2)
  dialer.close()
})
