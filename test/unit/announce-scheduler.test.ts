/**
 * The announce scheduler's pacing and backoff, in milliseconds of fake time (an injected
 * clock): the budget spaces announces 1/rate apart, intervals come from the target's answer,
 * failures back off exponentially with jitter, a target that keeps failing is paused as a
 * whole, a reconnected target re-announces everything, and a torrent's targets can change.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AnnounceScheduler } from '../../src/announce/scheduler.ts'
import type { AnnounceEvent, AnnounceOutcome, AnnounceTarget } from '../../src/announce/target.ts'
import { TrackerUnreachableError } from '../../src/announce/errors.ts'
import { ManualClock } from '../fixtures/clock.ts'

interface Call { infoHash: string, event: AnnounceEvent, at: number }

/** A target that answers at once (or fails while `failing`), recording every call with its time. */
function fakeTarget (clock: ManualClock, key = 'http://tracker.test/announce', intervalMs = 600_000): AnnounceTarget & { calls: Call[], failing: boolean, reannounce?: () => void } {
  const target = {
    key,
    maxInFlight: 100,
    defaultIntervalMs: intervalMs,
    sendsStopped: true,
    calls: [] as Call[],
    failing: false,
    reannounce: undefined as undefined | (() => void),
    attach (hooks: { reannounce: () => void }) { target.reannounce = hooks.reannounce },
    async announce (infoHash: string, event: AnnounceEvent): Promise<AnnounceOutcome> {
      target.calls.push({ infoHash, event, at: clock.now() })
      if (target.failing) throw new TrackerUnreachableError(key, 'down')
      return { peers: [], intervalMs }
    }
  }
  return target
}

/** close() paces its `stopped` announces on the same clock: let fake time run while it does. */
async function closeAll (clock: ManualClock, scheduler: AnnounceScheduler): Promise<void> {
  const closing = scheduler.close()
  await clock.advance(5000)
  await closing
}

const hash = (i: number): string => i.toString(16).padStart(40, '0')
const fixed = (): number => 0 // jitter off: exact times

test('pacing: 10 announces per second are spaced 100 ms apart, never a burst', async () => {
  const clock = new ManualClock()
  const scheduler = new AnnounceScheduler({ clock, rate: 10, startJitterMs: 0, random: fixed })
  const target = fakeTarget(clock)
  const t0 = clock.now()
  for (let i = 0; i < 20; i++) scheduler.add(hash(i), [target])
  assert.equal(target.calls.length, 1, 'one slot of the budget is used at once')
  await clock.advance(999)
  // Ten per second, plus the 20 ms of credit the pacer banks while idle (timer lateness).
  assert.equal(target.calls.length, 11, 'ten in the first second, plus the banked credit')
  await clock.advance(1000)
  assert.equal(target.calls.length, 20)
  const gaps = target.calls.slice(1).map((c, i) => c.at - target.calls[i].at)
  assert.equal(gaps[0], 80, 'the first slot after idling uses the 20 ms credit')
  assert.ok(gaps.slice(1).every(g => g === 100), `gaps ${gaps.join(',')}`)
  assert.equal(target.calls[0].at, t0)
  assert.ok(target.calls.every(c => c.event === 'started'))
  await closeAll(clock, scheduler)
})

test('pacing above 10/s: one wake-up per 120 ms tick sends the slots that fell due in it, at the budget\'s rate', async () => {
  const clock = new ManualClock(1_000_080) // starts on a tick boundary (120 x 8334 ms)
  const scheduler = new AnnounceScheduler({ clock, rate: 200, startJitterMs: 0, random: fixed })
  const target = fakeTarget(clock)
  target.maxInFlight = 1000
  for (let i = 0; i < 1000; i++) scheduler.add(hash(i), [target])
  const t0 = clock.now()
  await clock.advance(2000)
  const byTime = new Map<number, number>()
  for (const c of target.calls) byTime.set(c.at - t0, (byTime.get(c.at - t0) ?? 0) + 1)
  assert.ok([...byTime.keys()].every(at => at % 120 === 0), `calls only on ticks: ${[...byTime.keys()].join(',')}`)
  // At 0 ms the slot due now plus the 20 ms of credit banked while idle (5), then 24 per tick
  // at 120 ... 1920 ms: 200/s, never more than the budget allows.
  assert.equal(byTime.get(0), 5)
  assert.ok([...byTime.values()].slice(1).every(n => n === 24), `24 per tick: ${[...byTime.values()].join(',')}`)
  assert.equal(target.calls.length, 5 + 16 * 24)
  await closeAll(clock, scheduler)
})

test('the interval comes from the answer, clamped to the minimum, then `update`', async () => {
  const clock = new ManualClock()
  const scheduler = new AnnounceScheduler({ clock, rate: 1000, startJitterMs: 0, random: fixed, minIntervalMs: 60_000, jitter: 0 })
  const fast = fakeTarget(clock, 'udp://fast.test:1', 1000) // asks for 1 s: below the 60 s floor
  scheduler.add(hash(1), [fast])
  await clock.advance(59_999)
  assert.equal(fast.calls.length, 1)
  await clock.advance(1)
  assert.deepEqual(fast.calls.map(c => c.event), ['started', 'update'])
  assert.equal(fast.calls[1].at - fast.calls[0].at, 60_000)
  await closeAll(clock, scheduler)
})

test('backoff: failures wait base * 2^(n-1), and the target pauses after three in a row', async () => {
  const clock = new ManualClock()
  const warnings: string[] = []
  const scheduler = new AnnounceScheduler({ clock, rate: 1000, startJitterMs: 0, random: () => 1, retryBaseMs: 1000, retryMaxMs: 60_000, pauseAfterFailures: 3 })
  scheduler.on('warning', w => warnings.push(w.code))
  const target = fakeTarget(clock)
  target.failing = true
  scheduler.add(hash(1), [target])
  await clock.advance(1000) // retry 1 after 1000 ms (random 1: the full delay)
  await clock.advance(2000) // retry 2 after 2000 ms
  const times = target.calls.map(c => c.at - target.calls[0].at)
  assert.deepEqual(times, [0, 1000, 3000])
  assert.ok(warnings.includes('WARN_TRACKER_PAUSED'), `paused after three failures (${warnings.join(', ')})`)
  const status = scheduler.targetStatus()[0]
  assert.equal(status.failures, 3)
  assert.ok(status.pausedUntil !== undefined && status.pausedUntil > clock.now())
  // Back up: the next due announce succeeds and the pause is lifted.
  target.failing = false
  await clock.advance(60_000)
  assert.equal(target.calls.at(-1)!.event, 'started', 'still owed its first successful announce')
  assert.ok(warnings.includes('INFO_TRACKER_BACK'))
  assert.equal(scheduler.targetStatus()[0].pausedUntil, undefined)
  await closeAll(clock, scheduler)
})

test('jitter: backoff uses the injected random between half and all of the delay', async () => {
  const clock = new ManualClock()
  const scheduler = new AnnounceScheduler({ clock, rate: 1000, startJitterMs: 0, random: () => 0, retryBaseMs: 1000, pauseAfterFailures: 100 })
  const target = fakeTarget(clock)
  target.failing = true
  scheduler.add(hash(1), [target])
  await clock.advance(500)
  assert.equal(target.calls.length, 2, 'random 0: half the base delay')
  await closeAll(clock, scheduler)
})

test('reannounce (a WebSocket tracker reconnected): every torrent of the target starts again, paced', async () => {
  const clock = new ManualClock()
  const scheduler = new AnnounceScheduler({ clock, rate: 10, startJitterMs: 0, random: fixed })
  const target = fakeTarget(clock)
  for (let i = 0; i < 3; i++) scheduler.add(hash(i), [target])
  await clock.advance(300)
  assert.equal(target.calls.length, 3)
  target.reannounce!()
  await clock.advance(300)
  assert.deepEqual(target.calls.slice(3).map(c => c.event), ['started', 'started', 'started'])
  await closeAll(clock, scheduler)
})

test('update: a torrent whose trackers changed starts on the new one and sends `stopped` to the dropped one', async () => {
  const clock = new ManualClock()
  const scheduler = new AnnounceScheduler({ clock, rate: 1000, startJitterMs: 0, random: fixed })
  const a = fakeTarget(clock, 'http://a.test/announce')
  const b = fakeTarget(clock, 'http://b.test/announce')
  scheduler.add(hash(1), [a])
  await clock.advance(10)
  scheduler.update(hash(1), [b])
  await clock.advance(10)
  assert.deepEqual(a.calls.map(c => c.event), ['started', 'stopped'])
  assert.deepEqual(b.calls.map(c => c.event), ['started'])
  assert.deepEqual(scheduler.torrentStatus(hash(1)).map(s => s.target), [b.key])
  await closeAll(clock, scheduler)
})

test('close: `stopped` to every announced torrent within the budget, then nothing more', async () => {
  const clock = new ManualClock()
  const scheduler = new AnnounceScheduler({ clock, rate: 1000, startJitterMs: 0, random: fixed })
  const target = fakeTarget(clock)
  scheduler.add(hash(1), [target])
  scheduler.add(hash(2), [target])
  await clock.advance(10)
  const closing = scheduler.close()
  await clock.advance(10)
  await closing
  assert.deepEqual(target.calls.map(c => c.event), ['started', 'started', 'stopped', 'stopped'])
  assert.equal(clock.pending, 0, 'no timer left behind')
})

/** A target that takes every job of a pass in one call (LSD's datagrams), recording each call. */
function batchTarget (clock: ManualClock): AnnounceTarget & { batches: Array<{ at: number, hashes: string[] }>, failing: boolean, hold: boolean } {
  const target = {
    key: 'lsd',
    maxInFlight: 48,
    defaultIntervalMs: 300_000,
    sendsStopped: false,
    batches: [] as Array<{ at: number, hashes: string[] }>,
    failing: false,
    hold: false,
    async announce (): Promise<AnnounceOutcome> { throw new Error('a batching target is never called one by one') },
    announceBatch (hashes: readonly string[]): Promise<AnnounceOutcome> {
      target.batches.push({ at: clock.now(), hashes: [...hashes] })
      if (target.hold) return new Promise(() => {}) // never settles: close() must still end it
      return target.failing ? Promise.reject(new TrackerUnreachableError('lsd', 'send failed')) : Promise.resolve({ peers: [] })
    }
  }
  return target
}

test('a batching target gets each tick\'s jobs in one call, one budget slot per torrent, no timer per announce', async () => {
  const clock = new ManualClock(1_000_080) // a tick boundary
  const scheduler = new AnnounceScheduler({ clock, rate: 200, startJitterMs: 0, random: fixed, jitter: 0 })
  const target = batchTarget(clock)
  for (let i = 0; i < 100; i++) scheduler.add(hash(i), [target])
  // At once: the slot due now plus the 20 ms of credit (5; each add() passes once).
  assert.equal(target.batches.reduce((n, b) => n + b.hashes.length, 0), 5)
  const before = target.batches.length
  target.hold = true
  await clock.advance(120)
  assert.equal(target.batches.length, before + 1)
  assert.equal(target.batches[before].hashes.length, 24, 'one tick is 24 slots at 200/s, in one call')
  assert.equal(clock.pending, 1, 'while a batch is out only the pacer\'s timer is armed (no per-announce timeout)')
  assert.equal(scheduler.stats().inFlight, 24)
  const closing = scheduler.close()
  await clock.advance(5000)
  await closing
  assert.equal(scheduler.stats().inFlight, 0, 'close() ended the batch that never settled')

  // Rate and outcome: a fresh scheduler from a tick boundary, batches that succeed, then one that fails.
  await clock.advance(120 - (clock.now() % 120))
  const t1 = clock.now()
  const s2 = new AnnounceScheduler({ clock, rate: 200, startJitterMs: 0, random: fixed, jitter: 0 })
  const t2 = batchTarget(clock)
  const results: boolean[] = []
  s2.on('result', (_ih, _key, r) => results.push(r.ok))
  for (let i = 0; i < 100; i++) s2.add(hash(i), [t2])
  await clock.advance(359)
  assert.equal(t2.batches.reduce((n, b) => n + b.hashes.length, 0), 5 + 2 * 24, 'never more than the budget: one slot per torrent')
  t2.failing = true
  await clock.advance(1)
  assert.equal(results.filter(ok => !ok).length, 24, 'a failed send fails every torrent in it')
  assert.equal(s2.stats().announcedOnce, 5 + 2 * 24)
  const failed = s2.torrentStatus(t2.batches[t2.batches.length - 1].hashes[0])[0]
  assert.equal(failed.failures, 1)
  assert.ok(failed.due > clock.now(), 'a failed torrent backs off')
  assert.equal(s2.torrentStatus(hash(0))[0].due, t1 + 300_000, 'an announced torrent is due again after the interval')
  await closeAll(clock, s2)
})
