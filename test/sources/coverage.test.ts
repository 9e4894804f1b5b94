/**
 * Announce coverage: the model (round time per target against its expiry) in figures, the
 * planner on a manual clock, and the model checked against reality: a private DHT and the
 * embedded tracker with one-second intervals and small expiries, a rate too low to cover
 * them, the round time measured between two announces of each torrent; then the planner
 * raises the rate and the measured round falls to the interval.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { computeCoverage, CoveragePlanner, describeCoverage, type CoverageFigures } from '../../src/sources/coverage.ts'
import { ManualClock } from '../../src/sources/clock.ts'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import { startEmbeddedTracker } from '../../src/discovery/embedded-tracker.ts'
import { singleFileTorrent } from '../fixtures/torrents.ts'
import { startPrivateDht, waitForEvent } from '../fixtures/discovery.ts'

const MIN = 60_000

test('100k torrents, one tracker + DHT at 50/s: the DHT goes dark; the fix is named', () => {
  const figures: CoverageFigures = { rate: 50, targets: () => [{ key: 'http://t/announce', jobs: 100_000, intervalMs: 30 * MIN }, { key: 'dht', jobs: 100_000, intervalMs: 15 * MIN }] }
  const r = computeCoverage(figures)
  // 100k/1800 s + 100k/900 s = 166.7 announces/s asked for; 50/s stretches every round 3.33x.
  assert.equal(r.demand, 166.67)
  assert.equal(r.neededRate, 166.67)
  assert.equal(r.neededShards, 4)
  const dht = r.targets.find(t => t.kind === 'dht')!
  assert.equal(dht.roundMs, Math.round(15 * MIN * 166.666666 / 50))
  assert.equal(dht.expiryMs, 30 * MIN)
  assert.equal(Math.round(dht.covered * 100), 60)
  assert.equal(r.ok, false)
  assert.match(describeCoverage(r), /--announce-rate 167 or --shard K\/4 would cover every torrent/)
  // Four shards: each instance has a quarter of the torrents and is covered at 50/s.
  const quarter = computeCoverage({ rate: 50, targets: () => figures.targets().map(t => ({ ...t, jobs: 25_000 })) }, { shards: 4 })
  assert.equal(quarter.ok, true)
  assert.equal(quarter.neededShards, 4)
})

test('the planner scales the rate up to its cap, warns once while short, on its clock', async () => {
  let jobs = 1000
  let rate = 50
  const warnings: string[] = []
  const clock = new ManualClock()
  const planner = new CoveragePlanner(
    { get rate () { return rate }, targets: () => [{ key: 'dht', jobs, intervalMs: 15 * MIN }, { key: 'udp://t:1', jobs, intervalMs: 30 * MIN }] },
    r => { rate = r },
    (_code, message) => warnings.push(message),
    { auto: { floor: 50, cap: 200 }, everyMs: 60_000, clock }
  )
  assert.equal(planner.update().ok, true)
  planner.start()
  assert.equal(rate, 50, 'a small directory keeps the floor')
  jobs = 100_000
  await clock.advance(60_000)
  assert.equal(rate, 184, '100k torrents: 166.7/s needed, +10 % headroom')
  assert.equal(planner.report().ok, true)
  assert.deepEqual(warnings, [])
  jobs = 500_000
  await clock.advance(60_000)
  assert.equal(rate, 200, 'capped')
  assert.equal(planner.report().ok, false)
  await clock.advance(120_000)
  assert.equal(warnings.length, 1, 'said once while it stays short')
  assert.match(warnings[0], /--announce-rate 834 or --shard K\/5/)
  planner.close()
})

test('measured on a private DHT and the embedded tracker: round time as predicted, then covered once the rate is raised', { timeout: 120_000 }, async t => {
  const INTERVAL = 1000
  const dht = await startPrivateDht(t, 3)
  const tracker = await startEmbeddedTracker({ port: 0, host: '127.0.0.1', intervalMs: INTERVAL })
  t.after(() => tracker.close())
  const fish = await createTorrentFish({
    port: 0,
    listenInterface: '127.0.0.1',
    discovery: {
      dht: true,
      dhtBootstrap: dht.addresses,
      extraTrackers: [tracker.httpUrl],
      outgoing: false,
      announceRate: 10,
      // One-second intervals everywhere (the DHT's default of 15 min clamped down) and no jitter, so rounds are the model's.
      scheduler: { startJitterMs: 0, minIntervalMs: INTERVAL, maxIntervalMs: INTERVAL, jitter: 0, stopTimeoutMs: 200 }
    }
  })
  t.after(() => fish.close())
  const torrents = await Promise.all(Array.from({ length: 20 }, (_, i) => singleFileTorrent({ name: `cov-${i}.bin`, size: 4000 + i })))
  for (const x of torrents) await fish.addTorrent(x.torrentBytes)
  const scheduler = fish.discovery!.scheduler
  const warnings: string[] = []
  const planner = new CoveragePlanner(
    { get rate () { return scheduler.rate }, targets: () => scheduler.targetStatus().map(s => ({ key: s.key, jobs: s.jobs + s.inFlight, intervalMs: s.intervalMs })) },
    r => scheduler.setRate(r),
    (_c, m) => warnings.push(m),
    { dhtExpiryMs: 2 * INTERVAL, auto: false }
  )

  /** Mean time between consecutive successful announces of a torrent, per target, over `rounds` rounds. */
  const measure = async (rounds: number): Promise<Map<string, number>> => {
    const last = new Map<string, number>()
    const gaps = new Map<string, number[]>()
    await waitForEvent<[string, string, { ok: boolean }]>(scheduler, 'result', (ih, target, r) => {
      if (!r.ok) return false
      const key = `${target} ${ih}`
      const now = performance.now()
      if (last.has(key)) {
        const kind = target === 'dht' ? 'dht' : 'tracker'
        if (!gaps.has(kind)) gaps.set(kind, [])
        gaps.get(kind)!.push(now - last.get(key)!)
      }
      last.set(key, now)
      return [...gaps.values()].length === 2 && [...gaps.values()].every(g => g.length >= rounds * torrents.length)
    }, 90_000)
    return new Map([...gaps].map(([k, g]) => [k, g.reduce((a, b) => a + b, 0) / g.length]))
  }

  // 20 torrents x 2 targets every second = 40/s asked for, 10/s allowed: every round 4x the interval.
  await measure(1) // past the start-up ramp
  const report = planner.update()
  assert.equal(report.ok, false)
  assert.equal(report.neededShards, 4)
  const predicted = report.targets.find(x => x.kind === 'tracker')!.roundMs
  assert.ok(Math.abs(predicted - 4000) < 300, `predicted round ${predicted} ms`)
  const slow = await measure(2)
  for (const [kind, ms] of slow) assert.ok(ms > predicted * 0.7 && ms < predicted * 1.4, `${kind}: measured round ${Math.round(ms)} ms vs predicted ${predicted} ms`)
  assert.equal(warnings.length, 1)
  assert.match(warnings[0], /only 25 % at 10\/s.*--announce-rate 40 or --shard K\/4/)
  t.diagnostic(`at 10/s: predicted ${predicted} ms, measured ${[...slow].map(([k, v]) => `${k} ${Math.round(v)} ms`).join(', ')}`)

  // The planner on auto raises the rate; rounds fall back to the interval and coverage is whole.
  const auto = new CoveragePlanner(
    { get rate () { return scheduler.rate }, targets: () => scheduler.targetStatus().map(s => ({ key: s.key, jobs: s.jobs + s.inFlight, intervalMs: s.intervalMs })) },
    r => scheduler.setRate(r),
    () => {},
    { dhtExpiryMs: 2 * INTERVAL, auto: { floor: 10, cap: 200 } }
  )
  const fixed = auto.update()
  assert.equal(scheduler.rate, 44)
  assert.equal(fixed.ok, true)
  await measure(1)
  const fast = await measure(2)
  for (const [kind, ms] of fast) assert.ok(ms < INTERVAL * 1.5, `${kind}: measured round ${Math.round(ms)} ms at 44/s`)
  t.diagnostic(`at 44/s: ${[...fast].map(([k, v]) => `${k} ${Math.round(v)} ms`).join(', ')}`)
  // The service's own planner reports the same figures to /health and /metrics.
  assert.ok(fish.coverage)
})
