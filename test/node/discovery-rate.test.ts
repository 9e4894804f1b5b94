/**
 * 10k torrents, one tracker: the announce rate counted at the tracker stays within the budget
 * in every one-second window (no burst at start-up), every torrent is announced, and the ramp
 * takes as long as the budget says.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import bencode from 'bencode'
import { createHash } from 'node:crypto'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import { parseTorrent } from '../../src/core/torrent.ts'
import { startEmbeddedTracker } from '../../src/discovery/embedded-tracker.ts'

const COUNT = 10_000
const RATE = 1000

/** A small valid .torrent per index: one piece, one file, the tracker as announce. */
function tinyTorrent (i: number, announce: string): Uint8Array {
  return bencode.encode({
    announce,
    info: { length: 1000 + i, name: `t${i}.bin`, 'piece length': 16384, pieces: createHash('sha1').update(String(i)).digest() }
  })
}

test(`${COUNT} torrents, one tracker: announces stay within ${RATE}/s, measured at the tracker`, { timeout: 90_000 }, async t => {
  const tracker = await startEmbeddedTracker({ port: 0, host: '127.0.0.1', stats: false })
  t.after(() => tracker.close())
  const fish = await createTorrentFish({
    port: 0,
    listenInterface: '127.0.0.1',
    discovery: { announceRate: RATE, outgoing: false, scheduler: { startJitterMs: 0, stopTimeoutMs: 200 } }
  })
  t.after(() => fish.close())
  const warnings: string[] = []
  fish.on('warning', w => warnings.push(w.message))

  const at: number[] = []
  const hashes = new Set<string>()
  tracker.server.on('start', () => { at.push(performance.now()) })
  tracker.server.on('update', () => { at.push(performance.now()) })
  const parsed = await Promise.all(Array.from({ length: COUNT }, (_, i) => parseTorrent(tinyTorrent(i, tracker.udpUrl))))
  const rssBefore = process.memoryUsage().rss
  const started = performance.now()
  for (const p of parsed) await fish.addTorrent(p, { pin: true })
  const allDone = new Promise<void>(resolve => {
    fish.discovery!.scheduler.on('result', ih => {
      hashes.add(ih)
      if (hashes.size === COUNT) resolve()
    })
  })
  await allDone
  const elapsed = (performance.now() - started) / 1000
  const stats = fish.discovery!.scheduler.stats()
  assert.equal(stats.announcedOnce, COUNT, `every torrent announced (${stats.failures} failures; ${warnings.slice(0, 3).join('; ')})`)
  assert.ok(at.length >= COUNT, `the tracker counted ${at.length} announces`)

  // Every one-second window, sliding in 50 ms steps, at the tracker.
  // The pacer may bank 20 ms after idling; arrival at the tracker adds a little jitter (3%).
  const credit = 0.02 * RATE + 0.03 * RATE
  let worst = 0
  for (let from = at[0]; from <= at[at.length - 1]; from += 50) {
    let n = 0
    for (const x of at) if (x >= from && x < from + 1000) n++
    worst = Math.max(worst, n)
  }
  assert.ok(worst <= RATE + credit, `at most ${RATE} announces in any second (worst ${worst})`)
  assert.ok(elapsed >= (COUNT / RATE) * 0.95, `the ramp took ${elapsed.toFixed(1)} s, as the budget implies (>= ${(COUNT / RATE * 0.95).toFixed(1)} s)`)
  const rss = (process.memoryUsage().rss - rssBefore) / 1024 / 1024
  t.diagnostic(`${COUNT} announced in ${elapsed.toFixed(1)} s (${(COUNT / elapsed).toFixed(0)}/s, budget ${RATE}/s), worst 1-s window ${worst}; RSS +${rss.toFixed(0)} MiB during the ramp`)
})
