/**
 * The cold fill of a big remote source, against a real HTTP server on loopback with time on a
 * manual clock: one request gate per origin shared by an instance's sources (a listing and a
 * manifest on one server never have more in flight together than one alone may), and the
 * cache index checkpointed during a long first poll and saved when the source closes
 * mid-poll, so a restart keeps what was fetched instead of fetching it all again.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RemoteSource } from '../../src/sources/remote-source.ts'
import { GatePool, GATE_DEFAULTS } from '../../src/sources/gate.ts'
import { ManualClock } from '../../src/sources/clock.ts'
import { singleFileTorrent, type FixtureTorrent } from '../fixtures/torrents.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { startSourceServer, type SourceServer } from './source-server.ts'

async function torrents (n: number, tag: string): Promise<FixtureTorrent[]> {
  return await Promise.all(Array.from({ length: n }, (_, i) => singleFileTorrent({ name: `${tag}-${i}.bin`, size: 20_000 + i })))
}

/** Publishes `list` and holds every .torrent response until released; counts how many are open at once. */
function holdTorrents (server: SourceServer, list: FixtureTorrent[]): { held: Array<() => void>, most: () => number, arrived: (n: number) => Promise<void> } {
  const held: Array<() => void> = []
  let inFlight = 0
  let most = 0
  let arrivals = 0
  const waiters: Array<{ n: number, resolve: () => void }> = []
  for (const x of list) {
    server.put(`${x.name}.torrent`, x.torrentBytes)
    server.route(`/torrents/${x.name}.torrent`, (_req, res) => {
      inFlight += 1
      arrivals += 1
      most = Math.max(most, inFlight)
      held.push(() => { inFlight -= 1; res.writeHead(200, { 'Content-Type': 'application/x-bittorrent' }); res.end(x.torrentBytes) })
      for (const w of waiters.splice(0)) if (arrivals >= w.n) w.resolve(); else waiters.push(w)
    })
  }
  return {
    held,
    most: () => most,
    arrived: async n => { if (arrivals < n) await new Promise<void>(resolve => waiters.push({ n, resolve })) }
  }
}

/** Moves the clock in small steps until `promise` settles, letting held responses go each step when `release`. */
async function drive<T> (clock: ManualClock, promise: Promise<T>, held?: Array<() => void>): Promise<T> {
  let done = false
  const watched = promise.finally(() => { done = true })
  while (!done) {
    await clock.advance(10)
    if (held) while (held.length > 0) held.shift()!()
  }
  return await watched
}

/** What a restart would serve: a fresh source on the same cache, counting what it loads from there. */
async function servedFromCache (url: string, cacheDir: string): Promise<number> {
  const reader = new RemoteSource(url, { cacheDir, clock: new ManualClock() }) // its clock never moves: it never polls
  let n = 0
  reader.on('added', () => { n += 1 })
  await reader.start()
  await reader.close()
  return n
}

test('sources of one instance share a gate per origin: a listing and a manifest on one server stay within its concurrency', async t => {
  const server = await startSourceServer(t)
  const list = await torrents(8, 'origin')
  const h = holdTorrents(server, list)
  const clock = new ManualClock()
  const gates = new GatePool({ concurrency: 3, rate: 1000, clock })
  t.after(() => gates.close())
  const listing = new RemoteSource(server.url('/torrents/'), { cacheDir: await tmpDir(t, 'a'), clock, gates })
  const manifest = new RemoteSource(server.url('/manifest.txt'), { cacheDir: await tmpDir(t, 'b'), clock, gates })
  t.after(() => Promise.all([listing.close(), manifest.close()]))
  await listing.start()
  await manifest.start()
  const [a, b] = await drive(clock, Promise.all([listing.pollNow(), manifest.pollNow()]), h.held)
  assert.equal(a.torrents, 8)
  assert.equal(b.torrents, 8)
  assert.ok(h.most() <= 3, `at most 3 requests at once to the one server, saw ${h.most()}`)
  assert.equal(gates.gateFor(server.url('/x')), gates.gateFor(server.url('/torrents/y.torrent')), 'one gate per origin')
  assert.notEqual(gates.gateFor('http://127.0.0.2:1/'), gates.gateFor(server.url('/')), 'another origin has its own')
})

test('control: sources with gates of their own do reach twice the concurrency together', async t => {
  const server = await startSourceServer(t)
  const list = await torrents(8, 'own')
  const h = holdTorrents(server, list)
  const clock = new ManualClock()
  const listing = new RemoteSource(server.url('/torrents/'), { cacheDir: await tmpDir(t, 'a'), clock, concurrency: 3, rate: 1000 })
  const manifest = new RemoteSource(server.url('/manifest.txt'), { cacheDir: await tmpDir(t, 'b'), clock, concurrency: 3, rate: 1000 })
  t.after(() => Promise.all([listing.close(), manifest.close()]))
  await listing.start()
  await manifest.start()
  const polls = Promise.all([listing.pollNow(), manifest.pollNow()])
  await drive(clock, h.arrived(6)) // nothing released: 3 held per source
  assert.equal(h.most(), 6)
  await drive(clock, polls, h.held)
})

test('a long first fill checkpoints the cache index on the clock; closing mid-poll saves what was fetched', async t => {
  const server = await startSourceServer(t)
  const list = await torrents(6, 'fill')
  const h = holdTorrents(server, list)
  const clock = new ManualClock()
  const cacheDir = await tmpDir(t, 'cache')
  const url = server.url('/torrents/')
  const source = new RemoteSource(url, { cacheDir, clock, concurrency: 1, rate: 1000, checkpointMs: 5000 })
  t.after(() => source.close())
  let added = 0
  source.on('added', () => { added += 1 })
  await source.start()
  const poll = source.pollNow()
  const addedAt = (n: number): Promise<void> => added >= n
    ? Promise.resolve()
    : new Promise(resolve => { const on = (): void => { if (added >= n) { source.off('added', on); resolve() } }; source.on('added', on) })
  // Lets held responses go one at a time until `n` torrents are in.
  const fetched = async (n: number): Promise<void> => {
    while (added < n) {
      const next = added + 1
      await drive(clock, h.arrived(next))
      h.held.shift()!()
      await drive(clock, addedAt(next))
    }
  }
  await fetched(3)
  assert.equal(source.report().pending, 3, '/health says how much of the fill is left')
  assert.equal(await servedFromCache(url, cacheDir), 0, 'within checkpointMs of the start nothing is saved yet')
  await drive(clock, h.arrived(4))
  await clock.advance(5000)
  await fetched(4)
  assert.equal(await servedFromCache(url, cacheDir), 4, 'the 4th fetch came 5 s after the start: checkpoint')
  await fetched(5)
  assert.equal(await servedFromCache(url, cacheDir), 4, 'the 5th, right after a checkpoint, is not saved yet')
  await drive(clock, h.arrived(6)) // the 6th is in flight
  await source.close()
  const report = await poll
  assert.equal(report.torrents, 5)
  assert.equal(await servedFromCache(url, cacheDir), 5, 'closed mid-poll: what was fetched is saved')
})

test('default limits: 8 in flight, 1000 started per second, per origin', () => {
  assert.deepEqual({ ...GATE_DEFAULTS }, { concurrency: 8, rate: 1000 })
  const pool = new GatePool()
  const gate = pool.gateFor('http://127.0.0.1:1/a')
  assert.equal(gate.concurrency, 8)
  assert.equal(gate.rate, 1000)
  pool.close()
  assert.throws(() => new GatePool({ rate: 0 }), /rate must be positive/)
})
