/**
 * The announce scheduler's packed job table at scale and under churn: job and torrent indices
 * are reused after removals, heaps drop removed jobs at once, and the announces still match a
 * plain model: every live (torrent, target) pair is announced once per round, in due order,
 * and nothing removed is announced again (only its `stopped`). Fake time (an injected clock).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AnnounceScheduler } from '../../src/announce/scheduler.ts'
import type { AnnounceEvent, AnnounceOutcome, AnnounceTarget } from '../../src/announce/target.ts'
import { JobHeap, JobTable, TorrentKeys } from '../../src/announce/job-table.ts'
import { LastResults } from '../../src/announce/last-results.ts'
import { ManualClock } from '../fixtures/clock.ts'
import { prng } from '../../bench/corpus.ts'

interface Call { infoHash: string, event: AnnounceEvent, at: number }

function target (clock: ManualClock, key: string, sendsStopped = true): AnnounceTarget & { calls: Call[] } {
  const t = {
    key,
    maxInFlight: 1000,
    defaultIntervalMs: 3_600_000,
    sendsStopped,
    calls: [] as Call[],
    async announce (infoHash: string, event: AnnounceEvent): Promise<AnnounceOutcome> {
      t.calls.push({ infoHash, event, at: clock.now() })
      return { peers: [], intervalMs: 3_600_000, seeders: infoHash.length, leechers: 0 }
    }
  }
  return t
}

const hash = (i: number): string => (0x9e3779b1 * (i + 1) >>> 0).toString(16).padStart(8, '0') + i.toString(16).padStart(32, '0')

test('churn: adds, removes and target changes over reused job slots announce exactly what a plain model says', async () => {
  const clock = new ManualClock()
  const rand = prng(7)
  // First announces 1-999 ms after the add, so none goes out while the test is still changing the set.
  const scheduler = new AnnounceScheduler({ clock, rate: 100_000, maxInFlight: 10_000, startJitterMs: 1000, random: () => 0.001 + 0.998 * rand(), jitter: 0, minIntervalMs: 0 })
  const a = target(clock, 'http://a.test/announce')
  const b = target(clock, 'udp://b.test:1')
  const dht = target(clock, 'dht', false)
  const model = new Map<string, Set<string>>()
  const removedAt = new Map<string, number>()
  for (let i = 0; i < 3000; i++) {
    const h = hash(i)
    const ts = rand() < 0.5 ? [a, dht] : [b, dht]
    scheduler.add(h, ts)
    model.set(h, new Set(ts.map(t => t.key)))
  }
  // Remove a third, re-add some of those (new jobs in reused slots), move some to other trackers.
  for (let i = 0; i < 3000; i += 3) { scheduler.remove(hash(i)); model.delete(hash(i)); removedAt.set(hash(i), clock.now()) }
  for (let i = 0; i < 3000; i += 9) { scheduler.add(hash(i), [b]); model.set(hash(i), new Set([b.key])); removedAt.delete(hash(i)) }
  for (let i = 1; i < 3000; i += 6) { scheduler.update(hash(i), [a, b]); model.set(hash(i), new Set([a.key, b.key])) }
  scheduler.trim() // the tables shrink to what is used, then grow again
  for (let i = 3000; i < 4000; i++) { scheduler.add(hash(i), [dht]); model.set(hash(i), new Set([dht.key])) }
  await clock.advance(2000)
  const announced = new Map<string, Set<string>>()
  for (const t of [a, b, dht]) {
    for (const c of t.calls) {
      assert.equal(c.event, 'started', `${c.infoHash} to ${t.key}: nothing was announced before, so no stopped is owed`)
      const set = announced.get(c.infoHash) ?? new Set()
      assert.ok(!set.has(t.key), `${c.infoHash} announced twice to ${t.key} in one round`)
      set.add(t.key)
      announced.set(c.infoHash, set)
    }
    // One heap per target, popped in due order: the calls' times never go backwards.
    for (let i = 1; i < t.calls.length; i++) assert.ok(t.calls[i].at >= t.calls[i - 1].at)
  }
  assert.deepEqual(new Set(announced.keys()), new Set(model.keys()), 'every live torrent, and only those')
  for (const [h, keys] of model) {
    assert.deepEqual(announced.get(h), keys, `${h}: its current targets`)
    assert.ok(scheduler.has(h))
    const status = scheduler.torrentStatus(h)
    assert.deepEqual(new Set(status.map(s => s.target)), keys)
    for (const s of status) {
      assert.equal(s.last?.ok, true)
      assert.equal(s.last?.event, 'started')
      assert.equal(s.last?.seeders, 40, 'counts of the last result kept per job')
      assert.equal(s.last?.intervalMs, 3_600_000)
    }
  }
  for (const h of removedAt.keys()) assert.equal(scheduler.has(h), false)
  const jobs = [...model.values()].reduce((n, s) => n + s.size, 0)
  assert.equal(scheduler.stats().jobs, jobs)
  assert.equal(scheduler.targetStatus().reduce((n, t) => n + t.jobs + t.inFlight, 0), jobs, 'heaps hold exactly the live jobs')
  // Removing now owes a `stopped` to the trackers (not the DHT), and nothing more is announced.
  const before = dht.calls.length
  for (const h of [...model.keys()].slice(0, 100)) scheduler.remove(h)
  await clock.advance(10_000)
  assert.equal(dht.calls.length, before)
  const stopped = [...a.calls, ...b.calls].filter(c => c.event === 'stopped')
  const owed = [...model].slice(0, 100).reduce((n, [, keys]) => n + (keys.has(a.key) ? 1 : 0) + (keys.has(b.key) ? 1 : 0), 0)
  assert.equal(stopped.length, owed)
  const closing = scheduler.close()
  await clock.advance(10_000)
  await closing
  assert.equal(scheduler.has(hash(1)), false)
})

test('job heap: removal from anywhere keeps the heap order (due times popped ascending)', () => {
  const jobs = new JobTable()
  const heap = new JobHeap(jobs)
  const rand = prng(3)
  const live = new Set<number>()
  for (let i = 0; i < 5000; i++) {
    const j = jobs.alloc()
    jobs.due[j] = Math.floor(rand() * 1000)
    heap.push(j)
    live.add(j)
    if (rand() < 0.4) {
      const victim = [...live][Math.floor(rand() * live.size)]
      heap.remove(victim)
      live.delete(victim)
      jobs.release(victim)
    }
  }
  assert.equal(heap.size, live.size)
  let last = -Infinity
  const seen = new Set<number>()
  for (let j = heap.pop(); j >= 0; j = heap.pop()) {
    assert.ok(jobs.due[j] >= last)
    last = jobs.due[j]
    seen.add(j)
  }
  assert.deepEqual(seen, live)
})

test('torrent keys: hex keys round-trip lowercase, other keys are kept whole, ids are reused after delete', () => {
  const keys = new TorrentKeys()
  const ids = new Map<string, number>()
  for (let i = 0; i < 2000; i++) ids.set(hash(i), keys.insert(hash(i).toUpperCase()))
  const odd = keys.insert('not-a-hash')
  for (const [h, id] of ids) { assert.equal(keys.find(h), id); assert.equal(keys.key(id), h) }
  assert.equal(keys.key(odd), 'not-a-hash')
  assert.equal(keys.find('not-a-hash'), odd)
  keys.delete(ids.get(hash(5))!)
  assert.equal(keys.find(hash(5)), -1)
  const again = keys.insert(hash(99_999))
  assert.equal(again, ids.get(hash(5)), 'a freed id is reused')
  assert.equal(keys.find(hash(6)), ids.get(hash(6)), 'deleting leaves the others findable (tombstones)')
  assert.equal(keys.size, 2001)
})

test('last results: counts round-trip through the 16-bit columns, larger or odd ones are kept whole', () => {
  const jobs = new JobTable()
  const last = new LastResults(jobs)
  const cases = [
    { ok: true, at: 1000.5, event: 'started' as const, peers: 0, seeders: 65533, leechers: 7, intervalMs: 1800_000 },
    { ok: true, at: 2000, event: 'update' as const, peers: 65534, seeders: 1, leechers: 2 },
    { ok: true, at: 3000, event: 'update' as const, seeders: 250_000 },
    { ok: false, at: 4000, event: 'started' as const, code: 'ERR_X', message: 'down' },
    { ok: true, at: 5000, event: 'update' as const, peers: 3 }
  ]
  const ids = cases.map(() => jobs.alloc())
  cases.forEach((r, i) => last.set(ids[i], r))
  cases.forEach((r, i) => assert.deepEqual(last.get(ids[i]), r))
  last.set(ids[2], cases[4]) // a job whose count shrank goes back to the columns
  assert.deepEqual(last.get(ids[2]), cases[4])
})
