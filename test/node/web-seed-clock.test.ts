/**
 * The web seed checker on a manual clock: its rate limit, its request timeout and its interval
 * are asserted in milliseconds of fake time, against a real HTTP server on loopback. Time moves
 * only when the test advances it, so each request's start time is exact.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { once } from 'node:events'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import { WebSeedHealth } from '../../src/node/web-seed-health.ts'
import { singleFileTorrent } from '../fixtures/torrents.ts'
import { ManualClock } from '../fixtures/clock.ts'

interface Seed { url: string, server: http.Server, held: http.ServerResponse[] }

/** A web seed that answers HEAD with `size` bytes, or holds every request open when `hold`. */
async function seed (t: { after: (fn: () => unknown) => void }, size: number, hold: boolean): Promise<Seed> {
  const held: http.ServerResponse[] = []
  const server = http.createServer((req, res) => {
    if (req.headers['x-barrier']) { res.writeHead(204); return void res.end() }
    if (hold) { held.push(res); return }
    res.writeHead(200, { 'Content-Length': size })
    res.end()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, server, held }
}

/**
 * The test's own request to the seed, answered at once: by the time its answer is back, the
 * server has also taken any request the checker started before it (loopback, same fake time).
 */
function barrier (url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { 'x-barrier': '1' }, agent: false }, res => { res.resume(); res.on('end', resolve) }).on('error', reject)
  })
}

/** Resolves with the fake time at which the server sees its next request. */
function nextRequestAt (server: http.Server, clock: ManualClock): Promise<number> {
  return new Promise(resolve => server.once('request', () => resolve(clock.now())))
}

test('rate limit in fake milliseconds: 20 requests/s start 50 ms apart, none before its slot', async t => {
  const clock = new ManualClock()
  const s = await seed(t, 100, true)
  const torrents = await Promise.all(Array.from({ length: 4 }, (_, i) => singleFileTorrent({ name: `clock-rate-${i}.bin`, size: 100, urlList: [s.url] })))
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', listen: false })
  t.after(() => fish.close())
  for (const x of torrents) await fish.addTorrent(x.torrentBytes)
  const checker = new WebSeedHealth(fish, { intervalMs: 60_000, requestsPerSecond: 20, concurrency: 4, clock })
  t.after(() => checker.close())
  const t0 = clock.now()
  const times: number[] = []
  s.server.on('request', (req: http.IncomingMessage) => { if (!req.headers['x-barrier']) times.push(clock.now()) })
  // The seed holds every request, so each of the 4 workers makes exactly one; the limiter is
  // all that spaces them. One ms before each slot, a barrier request shows that nothing
  // started early; at the slot, the next request arrives.
  let next = nextRequestAt(s.server, clock)
  void checker.checkAll()
  await next
  for (let i = 1; i < 4; i++) {
    await clock.advance(49)
    await barrier(s.url)
    assert.equal(times.length, i, `no request before ${i * 50} ms`)
    next = nextRequestAt(s.server, clock)
    await clock.advance(1)
    await next
  }
  assert.deepEqual(times.map(x => x - t0), [0, 50, 100, 150])
  assert.equal(s.held.length, 4)
})

test('request timeout in fake milliseconds: no verdict at 4999 ms, "timed out" at 5000 ms', async t => {
  const clock = new ManualClock()
  const s = await seed(t, 100, true)
  const torrent = await singleFileTorrent({ name: 'clock-timeout.bin', size: 100, urlList: [s.url] })
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', listen: false })
  t.after(() => fish.close())
  await fish.addTorrent(torrent.torrentBytes)
  const checker = new WebSeedHealth(fish, { intervalMs: 60_000, timeoutMs: 5000, clock })
  t.after(() => checker.close())
  const arrived = once(s.server, 'request')
  let settled = false
  const result = checker.checkTorrent(torrent.infoHash).finally(() => { settled = true })
  await arrived
  await clock.advance(4999)
  assert.equal(settled, false, 'no verdict before the timeout')
  await clock.advance(1)
  const status = await result
  assert.equal(status!.status, 'error')
  assert.match(status!.reason!, /timed out/)
  assert.equal(checker.checks.error, 1)
})

test('interval in fake milliseconds: the second pass starts exactly one interval after the first', async t => {
  const clock = new ManualClock()
  const s = await seed(t, 100, false)
  const torrent = await singleFileTorrent({ name: 'clock-interval.bin', size: 100, urlList: [s.url] })
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', listen: false })
  t.after(() => fish.close())
  await fish.addTorrent(torrent.torrentBytes)
  const checker = new WebSeedHealth(fish, { intervalMs: 60_000, clock })
  t.after(() => checker.close())
  const t0 = clock.now()
  const first = once(checker, 'pass')
  checker.start()
  const [p1] = await first
  assert.equal(p1.checked, 1)
  assert.equal(checker.get(torrent.infoHash)!.status, 'ok')
  assert.equal(checker.get(torrent.infoHash)!.checkedAt, t0)
  let passes = 1
  checker.on('pass', () => { passes += 1 })
  const second = nextRequestAt(s.server, clock)
  await clock.advance(59_999)
  assert.equal(passes, 1, 'no second pass before the interval')
  await clock.advance(1)
  assert.equal(await second, t0 + 60_000)
  await once(checker, 'pass')
  assert.equal(checker.get(torrent.infoHash)!.checkedAt, t0 + 60_000)
})
