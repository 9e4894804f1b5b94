/**
 * Options owned by the modules that use them: the HTTP face, the web seed checker and the
 * outgoing dialer each check their options with the shared helper. A bad value and an unknown
 * name both throw InvalidOptionError naming the option, and the service rejects them when it
 * is constructed, before anything listens.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { InvalidOptionError } from '../../src/core/errors.ts'
import { resolveHttpOptions, HTTP_DEFAULTS } from '../../src/http/options.ts'
import { resolveWebSeedHealthOptions, WEB_SEED_HEALTH_DEFAULTS } from '../../src/node/web-seed-health.ts'
import { resolvePeerDialerOptions, PEER_DIALER_DEFAULTS, PeerDialer } from '../../src/discovery/peer-dialer.ts'
import { resolveServiceOptions } from '../../src/node/service-options.ts'

const names = (option: string, pattern: RegExp) => (e: unknown): boolean =>
  e instanceof InvalidOptionError && e.option === option && e.code === 'ERR_INVALID_OPTION' && pattern.test(e.message) && e.message.startsWith(option)

test('HTTP options: defaults filled in; a bad value and an unknown name are named', () => {
  const o = resolveHttpOptions({ port: 0 })
  assert.equal(o.pageSize, HTTP_DEFAULTS.pageSize)
  assert.equal(o.maxBodyBytes, HTTP_DEFAULTS.maxBodyBytes)
  assert.equal(o.processMetrics, true)
  assert.equal(resolveHttpOptions({ port: 8080, pageSize: 7 }).pageSize, 7)
  assert.throws(() => resolveHttpOptions({ port: 70000 }), names('http.port', /0 to 65535, got 70000/))
  assert.throws(() => resolveHttpOptions({ port: 0, pageSize: 0 }), names('http.pageSize', /whole number/))
  assert.throws(() => resolveHttpOptions({ port: 0, token: 'short' }), names('http.token', /at least 8/))
  assert.throws(() => resolveHttpOptions({ port: 0, publicUrl: 'ftp://x/' }), names('http.publicUrl', /http\(s\)/))
  assert.throws(() => resolveHttpOptions({ port: 0, tokn: 'abcdefgh' } as never), names('http.tokn', /unknown option \(known: .*token/))
  assert.throws(() => resolveHttpOptions({} as never), names('http.port', /required/))
})

test('web seed checker options: defaults filled in; a bad value and an unknown name are named', () => {
  const o = resolveWebSeedHealthOptions({ intervalMs: 1000 })
  assert.equal(o.intervalMs, 1000)
  assert.equal(o.timeoutMs, WEB_SEED_HEALTH_DEFAULTS.timeoutMs)
  assert.equal(o.concurrency, WEB_SEED_HEALTH_DEFAULTS.concurrency)
  assert.throws(() => resolveWebSeedHealthOptions({ intervalMs: -5 }), names('webSeedCheck.intervalMs', /got -5/))
  assert.throws(() => resolveWebSeedHealthOptions({ concurrency: 1.5 }), names('webSeedCheck.concurrency', /whole number/))
  assert.throws(() => resolveWebSeedHealthOptions({ clock: {} as never }), names('webSeedCheck.clock', /clock/))
  assert.throws(() => resolveWebSeedHealthOptions({ interval: 5 } as never), names('webSeedCheck.interval', /unknown option \(known: intervalMs/))
})

test('dialer options: defaults filled in; a bad value and an unknown name are named; the dialer itself checks', () => {
  const o = resolvePeerDialerOptions({ maxOpen: 3 })
  assert.equal(o.maxOpen, 3)
  assert.equal(o.maxDialing, PEER_DIALER_DEFAULTS.maxDialing)
  assert.equal(o.retryMaxMs, PEER_DIALER_DEFAULTS.retryMaxMs)
  assert.throws(() => resolvePeerDialerOptions({ maxDialing: 0 }), names('discovery.outgoing.maxDialing', /1 to/))
  assert.throws(() => resolvePeerDialerOptions({ isSelf: true as never }), names('discovery.outgoing.isSelf', /function/))
  assert.throws(() => resolvePeerDialerOptions({ maxOpenConnections: 5 } as never), names('discovery.outgoing.maxOpenConnections', /unknown option \(known: maxDialing/))
  assert.throws(() => new PeerDialer(async () => ({ id: 1 }), { retryBaseMs: -1 }), names('discovery.outgoing.retryBaseMs', /got -1/))
})

test('the service rejects bad module options at construction, naming them', () => {
  assert.throws(() => resolveServiceOptions({ http: { port: 0, pagesize: 10 } as never }), names('http.pagesize', /unknown option/))
  assert.throws(() => resolveServiceOptions({ webSeedCheck: { timeoutMs: 0 } }), names('webSeedCheck.timeoutMs', /got 0/))
  assert.throws(() => resolveServiceOptions({ discovery: { outgoing: { maxQueue: 'many' as never } } }), names('discovery.outgoing.maxQueue', /"many"/))
  assert.throws(() => resolveServiceOptions({ discovery: { outgoing: { redial: 1 } as never } }), names('discovery.outgoing.redial', /unknown option/))
  const ok = resolveServiceOptions({ http: { port: 0 }, webSeedCheck: true, discovery: { outgoing: { maxOpen: 2 } } })
  assert.equal(ok.http!.pageSize, HTTP_DEFAULTS.pageSize)
  assert.deepEqual(ok.webSeedCheck, {})
})

test('the session passes every admission option through, and names a bad one', async () => {
  const { MetadataPeer } = await import('../../src/core/metadata-peer.ts')
  assert.throws(() => new MetadataPeer({ admission: { idlePerNewSubnet: 0 } }), names('admission.idlePerNewSubnet', /positive integer, got 0/))
  assert.throws(() => new MetadataPeer({ admission: { faultsPerSubnetPerSecond: -1 } }), names('admission.faultsPerSubnetPerSecond', /got -1/))
  const peer = new MetadataPeer({ admission: { idlePerNewSubnet: 5, faultsPerSubnetPerSecond: 9 } })
  await peer.close()
})
