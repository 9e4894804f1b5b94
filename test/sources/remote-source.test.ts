/**
 * RemoteSource against a real HTTP server on loopback, with time on a manual clock: polls
 * come every interval, conditional requests get 304s, added / replaced / removed torrents
 * become events, a server that is down changes nothing and is retried with backoff and
 * jitter, and a restart serves from the on-disk cache with the server still down. Each kind
 * of index (autoindex, RSS, Atom, text and JSON manifests) lists the same torrents.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { RemoteSource } from '../../src/sources/remote-source.ts'
import { ManualClock } from '../../src/sources/clock.ts'
import type { SourceTorrent, SourceWarning } from '../../src/sources/source.ts'
import { singleFileTorrent, type FixtureTorrent } from '../fixtures/torrents.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { startSourceServer } from './source-server.ts'

/**
 * Runs real I/O against a manual clock: moves time in small steps (so paced requests and
 * timers go) until `promise` settles. Time only moves while the test waits for a result.
 */
async function drive<T> (clock: ManualClock, promise: Promise<T>, stepMs = 10): Promise<T> {
  let done = false
  const watched = promise.finally(() => { done = true })
  while (!done) await clock.advance(stepMs)
  return await watched
}

/** The next `poll` event of a source, driving the clock until it comes. */
async function nextPoll (clock: ManualClock, source: RemoteSource): Promise<{ at: number }> {
  return await drive(clock, new Promise(resolve => source.once('poll', () => resolve({ at: clock.now() }))))
}

async function torrents (n: number, tag: string): Promise<FixtureTorrent[]> {
  return await Promise.all(Array.from({ length: n }, (_, i) => singleFileTorrent({ name: `${tag}-${i}.bin`, size: 20_000 + i })))
}

function watch (source: RemoteSource): { added: SourceTorrent[], replaced: Array<[SourceTorrent, string]>, removed: Array<[string, string]>, warnings: SourceWarning[] } {
  const out = { added: [] as SourceTorrent[], replaced: [] as Array<[SourceTorrent, string]>, removed: [] as Array<[string, string]>, warnings: [] as SourceWarning[] }
  source.on('added', t => out.added.push(t))
  source.on('replaced', (t, prev) => out.replaced.push([t, prev]))
  source.on('removed', (l, h) => out.removed.push([l, h]))
  source.on('warning', w => out.warnings.push(w))
  return out
}

for (const index of ['/torrents/', '/feed.rss', '/feed.atom', '/manifest.txt', '/manifest.json']) {
  test(`${index}: every torrent listed loads byte-exact from the cache file`, async t => {
    const server = await startSourceServer(t)
    const list = await torrents(3, 'kind')
    for (const x of list) server.put(`${x.name}.torrent`, x.torrentBytes)
    const clock = new ManualClock()
    const source = new RemoteSource(server.url(index), { cacheDir: await tmpDir(t, 'cache'), clock, pollIntervalMs: 1000 })
    t.after(() => source.close())
    const seen = watch(source)
    await source.start()
    const report = await drive(clock, source.pollNow())
    assert.equal(report.ok, true, JSON.stringify(report))
    assert.deepEqual(seen.added.map(a => a.parsed.infoHash).sort(), list.map(x => x.infoHash).sort())
    for (const a of seen.added) {
      const original = list.find(x => x.infoHash === a.parsed.infoHash)!
      assert.deepEqual(new Uint8Array(await readFile(a.parsed.source!)), original.torrentBytes, 'the cached file holds the exact bytes served')
      assert.match(a.location, /^http:\/\/127\.0\.0\.1:\d+\/torrents\//)
    }
    assert.deepEqual(seen.warnings, [])
  })
}

test('polls each interval with conditional requests; add, replace and remove become events', async t => {
  const server = await startSourceServer(t)
  const [a, b, c] = await torrents(3, 'poll')
  const a2 = await singleFileTorrent({ name: 'poll-0.bin', size: 30_000, seed: 'v2' })
  server.put('a.torrent', a.torrentBytes)
  server.put('b.torrent', b.torrentBytes)
  const clock = new ManualClock()
  const source = new RemoteSource(server.url('/torrents/'), { cacheDir: await tmpDir(t, 'cache'), clock, pollIntervalMs: 10_000, revalidatePerPoll: 10 })
  t.after(() => source.close())
  const seen = watch(source)
  await source.start()
  const first = await nextPoll(clock, source) // the first poll starts at once
  assert.equal(seen.added.length, 2)

  // Nothing changed: the next poll comes one interval later and is all 304s.
  const before = server.requests.length
  const next = await nextPoll(clock, source)
  assert.ok(next.at - first.at >= 10_000 && next.at - first.at < 10_200, `polled ${next.at - first.at} ms later`)
  const second = server.requests.slice(before)
  assert.ok(second.length >= 3 && second.every(r => r.conditional && r.status === 304), JSON.stringify(second))
  assert.equal(seen.added.length, 2)

  // Add c, replace a with other bytes (another info hash), remove b.
  server.put('c.torrent', c.torrentBytes)
  server.put('a.torrent', a2.torrentBytes)
  server.remove('b.torrent')
  await nextPoll(clock, source)
  assert.deepEqual(seen.added.slice(2).map(x => x.parsed.infoHash), [c.infoHash])
  assert.equal(seen.replaced.length, 1)
  assert.equal(seen.replaced[0][0].parsed.infoHash, a2.infoHash)
  assert.equal(seen.replaced[0][1], a.infoHash)
  assert.deepEqual(seen.removed.map(r => r[1]), [b.infoHash])
  assert.equal(source.report().torrents, 2)
  assert.deepEqual(seen.warnings, [])
})

test('server down: nothing removed, retries back off with jitter; a restart serves from the cache', async t => {
  const server = await startSourceServer(t)
  const list = await torrents(4, 'down')
  for (const x of list) server.put(`${x.name}.torrent`, x.torrentBytes)
  const cacheDir = await tmpDir(t, 'cache')
  const clock = new ManualClock()
  const source = new RemoteSource(server.url('/manifest.txt'), { cacheDir, clock, pollIntervalMs: 60_000, backoffBaseMs: 1000, backoffMaxMs: 30_000, random: () => 1 })
  const seen = watch(source)
  await source.start()
  await nextPoll(clock, source)
  assert.equal(seen.added.length, 4)

  await server.down()
  const polls: Array<{ at: number, ok: boolean | null }> = []
  source.on('poll', r => polls.push({ at: clock.now(), ok: r.ok }))
  // The regular poll fails, then retries back off (random = 1: the full delay): 1 s, 2 s, 4 s, 8 s.
  while (polls.length < 5) await nextPoll(clock, source)
  assert.deepEqual(polls.map(p => p.ok), [false, false, false, false, false])
  const gaps = polls.slice(1).map((p, i) => p.at - polls[i].at)
  for (const [i, want] of [1000, 2000, 4000, 8000].entries()) assert.ok(gaps[i] >= want && gaps[i] < want + 200, `retry ${i + 1} after ${gaps[i]} ms, expected ${want}`)
  assert.equal(seen.removed.length, 0, 'a failed poll removes nothing')
  assert.equal(source.report().torrents, 4)
  assert.equal(source.report().ok, false)
  assert.equal(seen.warnings.length, 1, `one warning for the outage: ${JSON.stringify(seen.warnings)}`)
  assert.match(seen.warnings[0].message, /manifest\.txt: request failed.*still serving the last good set \(4 torrents\)/)
  await source.close()

  // Restart with the server still down: the cache serves every torrent at once.
  const clock2 = new ManualClock()
  const again = new RemoteSource(server.url('/manifest.txt'), { cacheDir, clock: clock2, pollIntervalMs: 60_000 })
  t.after(() => again.close())
  const seen2 = watch(again)
  await again.start()
  assert.deepEqual(seen2.added.map(a => a.parsed.infoHash).sort(), list.map(x => x.infoHash).sort())
  for (const a of seen2.added) assert.deepEqual(new Uint8Array(await readFile(a.parsed.source!)), list.find(x => x.infoHash === a.parsed.infoHash)!.torrentBytes)
  assert.equal(again.report().fromCache, 4)
  const r = await drive(clock2, again.pollNow())
  assert.equal(r.ok, false)
  assert.equal(seen2.removed.length, 0)

  // The server is back: the next poll is conditional (validators from the cache) and changes nothing.
  await server.up()
  const before = server.requests.length
  const ok = await drive(clock2, again.pollNow())
  assert.equal(ok.ok, true, JSON.stringify(ok))
  const torrentRequests = server.requests.slice(before).filter(x => x.path.startsWith('/torrents/'))
  assert.ok(torrentRequests.length === 4 && torrentRequests.every(x => x.conditional && x.status === 304), JSON.stringify(torrentRequests))
  assert.equal(seen2.added.length, 4)
})

test('bounded concurrency and rate toward the server', async t => {
  const server = await startSourceServer(t)
  const list = await torrents(12, 'gate')
  for (const x of list) server.put(`${x.name}.torrent`, x.torrentBytes)
  let inFlight = 0
  let most = 0
  // Hold each .torrent response until the test lets it go, to see how many run at once.
  const held: Array<() => void> = []
  for (const x of list) {
    const bytes = x.torrentBytes
    server.route(`/torrents/${x.name}.torrent`, (_req, res) => {
      inFlight += 1
      most = Math.max(most, inFlight)
      held.push(() => { inFlight -= 1; res.writeHead(200, { 'Content-Type': 'application/x-bittorrent' }); res.end(bytes) })
    })
  }
  const clock = new ManualClock()
  const source = new RemoteSource(server.url('/torrents/'), { cacheDir: await tmpDir(t, 'cache'), clock, concurrency: 3, rate: 10 })
  t.after(() => source.close())
  await source.start()
  const polled = source.pollNow()
  const startedAt: number[] = []
  let done = false
  void polled.finally(() => { done = true })
  while (!done) {
    await clock.advance(20)
    while (held.length > 0) { startedAt.push(clock.now()); held.shift()!() }
  }
  const report = await polled
  assert.equal(report.torrents, 12)
  assert.ok(most <= 3, `at most 3 requests at once, saw ${most}`)
  // 13 requests (index + 12) at 10/s take at least 1.2 s of clock time.
  assert.ok(startedAt.at(-1)! - startedAt[0] >= 1000, `paced at 10/s: ${startedAt.join(',')}`)
})

test('a JSON manifest stating info hashes: other shards\' torrents are known, not fetched', async t => {
  const server = await startSourceServer(t)
  const list = await torrents(6, 'hint')
  for (const x of list) server.put(`${x.name}.torrent`, x.torrentBytes)
  const mine = new Set(list.slice(0, 2).map(x => x.infoHash))
  server.route('/stated.json', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify(list.map(x => ({ url: `/torrents/${x.name}.torrent`, infoHash: x.infoHash.toUpperCase() }))))
  })
  const clock = new ManualClock()
  const source = new RemoteSource(server.url('/stated.json'), { cacheDir: await tmpDir(t, 'cache'), clock, wanted: h => mine.has(h) })
  t.after(() => source.close())
  const seen = watch(source)
  const known: string[] = []
  source.on('known', (_l, h) => known.push(h))
  await source.start()
  await drive(clock, source.pollNow())
  assert.deepEqual(seen.added.map(a => a.parsed.infoHash).sort(), [...mine].sort())
  assert.deepEqual(known.sort(), list.slice(2).map(x => x.infoHash).sort())
  const fetched = server.requests.filter(r => r.path.startsWith('/torrents/')).map(r => r.path)
  assert.equal(fetched.length, 2, `only this shard's torrents fetched: ${fetched.join(', ')}`)
  assert.equal(source.report().torrents, 6)
})

test('redirects are followed up to the limit; a loop or a non-http target is one warning', async t => {
  const server = await startSourceServer(t)
  const [x] = await torrents(1, 'redirect')
  server.put('real.torrent', x.torrentBytes)
  const redirect = (to: string) => (_req: unknown, res: import('node:http').ServerResponse) => { res.writeHead(302, { Location: to }); res.end() }
  server.route('/moved.txt', redirect('/list.txt'))
  server.route('/list.txt', (_req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('/hop1.torrent\n/loop.torrent\n/ftp.torrent\n') })
  server.route('/hop1.torrent', redirect('/hop2.torrent'))
  server.route('/hop2.torrent', redirect(server.url('/torrents/real.torrent')))
  server.route('/loop.torrent', redirect('/loop.torrent'))
  server.route('/ftp.torrent', redirect('ftp://127.0.0.1/x.torrent'))
  const clock = new ManualClock()
  const source = new RemoteSource(server.url('/moved.txt'), { cacheDir: await tmpDir(t, 'cache'), clock, maxRedirects: 5 })
  t.after(() => source.close())
  const seen = watch(source)
  await source.start()
  await drive(clock, source.pollNow())
  assert.equal(server.requests.filter(r => r.path === '/loop.torrent').length, 6, 'the loop is cut after 5 redirects')
  await drive(clock, source.pollNow()) // retried, not warned again
  assert.deepEqual(seen.added.map(a => a.parsed.infoHash), [x.infoHash], 'two hops to the real file')
  assert.equal(seen.warnings.length, 2, JSON.stringify(seen.warnings))
  assert.match(seen.warnings.find(w => w.location.endsWith('/loop.torrent'))!.message, /more than 5 redirects/)
  assert.match(seen.warnings.find(w => w.location.endsWith('/ftp.torrent'))!.message, /redirected to ftp:\/\/.* not http\(s\)/)
})
