/**
 * One scheduler for every announce of every torrent: trackers, the DHT and LSD alike.
 *
 * 100k torrents must not mean 100k timers or sockets. Each (torrent, target) pair is a row of
 * the packed job table (job-table.ts, kept by job-set.ts) in a heap per target, keyed by when
 * it is due; one timer wakes the scheduler at the next due time or the next free slot of the
 * rate budget (pacer.ts: slots spaced 1/rate apart with a few milliseconds of credit, so
 * start-up is a steady ramp, never a burst). Intervals come from the target's answer (a
 * tracker's `interval` / `min interval`), clamped and lengthened by a little jitter; failures
 * back off exponentially with jitter, and a target that keeps failing to answer is paused as a
 * whole, so a dead tracker does not eat the budget of live ones (announce-outcomes.ts). The
 * calls themselves, with their timeouts, are in-flight.ts. This file is the loop: what goes
 * out next, and what an answer reschedules.
 */
import { TorrentFishError } from '../core/errors.ts'
import { EventEmitter } from 'events'
import { EV_UPDATE, EVENTS, J_ANNOUNCED, J_HAS_LAST, J_IN_FLIGHT, J_REMOVED, type JobTable } from './job-table.ts'
import type { TargetState } from './target-state.ts'
import { JobSet, type StopJob } from './job-set.ts'
import { Pacer } from './pacer.ts'
import { InFlight } from './in-flight.ts'
import { AnnounceOutcomes } from './announce-outcomes.ts'
import { systemClock, type Clock, type TimerHandle } from '../util/clock.ts'
import { resolveOptions, integerIn, numberIn, type OptionSpec } from '../util/options.ts'
import type { AnnounceEvent, AnnounceOutcome, AnnounceTarget } from './target.ts'
import { SCHEDULER_DEFAULTS, type AnnounceResult, type SchedulerEvents, type SchedulerOptions, type SchedulerStats, type TargetStatus } from './scheduler-options.ts'

export type { AnnounceEvent, AnnounceOutcome, AnnounceTarget } from './target.ts'
export { SCHEDULER_DEFAULTS, AUTO_RATE } from './scheduler-options.ts'
export type { AnnounceResult, SchedulerEvents, SchedulerOptions, SchedulerStats, TargetStatus } from './scheduler-options.ts'

const SPEC: OptionSpec<Required<Omit<SchedulerOptions, 'clock' | 'random'>>> = {
  rate: numberIn(0.001, 1_000_000),
  maxInFlight: integerIn(1, 100_000),
  startJitterMs: integerIn(0, 86_400_000),
  minIntervalMs: integerIn(0, 86_400_000),
  maxIntervalMs: integerIn(1, 7 * 86_400_000),
  jitter: numberIn(0, 10),
  retryBaseMs: integerIn(1, 86_400_000),
  retryMaxMs: integerIn(1, 7 * 86_400_000),
  pauseAfterFailures: integerIn(1, 1_000_000),
  announceTimeoutMs: integerIn(1, 3_600_000),
  stopTimeoutMs: integerIn(0, 3_600_000)
}

export class AnnounceScheduler extends EventEmitter<SchedulerEvents> {
  private readonly maxInFlight: number
  private readonly opts: Required<Omit<SchedulerOptions, 'rate' | 'maxInFlight' | 'clock'>> & { now: () => number }
  private readonly clock: Clock
  private readonly pacer: Pacer
  private readonly set: JobSet
  /** The set's tables, read by the loop directly (the set's torrents are not: close() replaces them). */
  private readonly jobs: JobTable
  private readonly targetList: TargetState[]
  private readonly stopQueue: StopJob[]
  private readonly calls: InFlight
  private readonly outcomes: AnnounceOutcomes
  /** Batching targets with jobs picked in the current pass. */
  private readonly batching: TargetState[] = []
  private timer: TimerHandle | null = null
  private timerAt = Infinity
  private closing = false
  private closedFlag = false
  private counters = { attemptedOnce: 0, announcedOnce: 0 }
  private readonly idleWaiters = new Set<() => void>()

  constructor (options: SchedulerOptions = {}) {
    super()
    const o = resolveOptions('scheduler', SCHEDULER_DEFAULTS as Required<Omit<SchedulerOptions, 'clock' | 'random'>>, SPEC, options as Record<string, unknown>, ['clock', 'random'])
    this.pacer = new Pacer(o.rate)
    this.maxInFlight = o.maxInFlight
    this.clock = options.clock ?? systemClock
    this.opts = {
      startJitterMs: o.startJitterMs,
      minIntervalMs: o.minIntervalMs,
      maxIntervalMs: o.maxIntervalMs,
      jitter: o.jitter,
      retryBaseMs: o.retryBaseMs,
      retryMaxMs: o.retryMaxMs,
      pauseAfterFailures: o.pauseAfterFailures,
      announceTimeoutMs: o.announceTimeoutMs,
      stopTimeoutMs: o.stopTimeoutMs,
      random: options.random ?? Math.random,
      now: () => this.clock.now()
    }
    const warn = (w: SchedulerEvents['warning'][0]): void => { this.emit('warning', w) }
    this.set = new JobSet({ opts: this.opts, warn, reannounce: key => this.reannounce(key) })
    this.jobs = this.set.jobs
    this.targetList = this.set.targetList
    this.stopQueue = this.set.stopQueue
    this.calls = new InFlight(this.clock, this.opts.announceTimeoutMs)
    this.outcomes = new AnnounceOutcomes(this.opts, warn)
  }

  /** The announce budget, announces per second (change it with {@link setRate}). */
  get rate (): number { return this.pacer.rate }

  get closed (): boolean { return this.closedFlag }

  /** Bytes the packed job and torrent tables hold (for the memory figures). */
  get packedBytes (): number { return this.set.packedBytes }

  /** Changes the announce budget (announces per second) from now on. */
  setRate (rate: number): void {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`announce rate must be a positive number, got ${rate}`)
    this.pacer.rate = rate
    this.pump()
  }

  /** Starts announcing a torrent to these targets (adds targets not announced to yet). */
  add (infoHash: string, targets: AnnounceTarget[]): void {
    if (this.closing || targets.length === 0) return
    this.set.add(infoHash, targets)
    this.pump()
  }

  /** Stops announcing a torrent; trackers it was announced to get a `stopped`. */
  remove (infoHash: string): void {
    if (this.set.remove(infoHash)) this.pump()
  }

  has (infoHash: string): boolean { return this.set.has(infoHash) }

  /**
   * Makes every torrent of one target due again as `started`, spread over the start jitter
   * and paced by the budget like any other announce (a WebSocket tracker that reconnected
   * has forgotten them).
   */
  reannounce (key: string): void {
    if (this.closing) return
    if (this.set.reannounce(key)) this.pump()
  }

  /**
   * Sets the targets of an announced torrent (its trackers changed): new targets start, targets
   * it no longer names get a `stopped`, the others keep their schedule.
   */
  update (infoHash: string, targets: AnnounceTarget[]): void {
    if (this.closing) return
    this.set.update(infoHash, targets)
    // As add(): with no targets left there is nothing to start, and the next pass sends the `stopped`.
    if (targets.length > 0) this.pump()
  }

  // ---- the loop ----

  private pump (): void {
    if (this.closedFlag) return
    const now = this.opts.now()
    const pacer = this.pacer
    const pacerNow = pacer.begin(now)
    let wakeAt = Infinity
    while (this.calls.count < this.maxInFlight) {
      if (!pacer.open(pacerNow)) { wakeAt = pacer.wakeAt(pacerNow, now); break }
      const stop = this.nextStop()
      if (stop !== undefined) {
        pacer.take()
        this.dispatchStop(stop)
        continue
      }
      if (this.closing) break
      const pick = this.pickDue(now)
      if (pick < 0) { wakeAt = this.pickNextAt; break }
      pacer.take()
      this.dispatch(pick)
    }
    for (const state of this.batching) this.sendBatch(state)
    this.batching.length = 0
    this.arm(wakeAt)
    if (this.calls.count === 0 && this.stopQueue.length === 0) for (const w of [...this.idleWaiters]) w()
  }

  /** The next `stopped` to send, when its target has room. */
  private nextStop (): StopJob | undefined {
    const stop = this.stopQueue[0]
    if (stop === undefined || stop.target.inFlight >= stop.target.target.maxInFlight) return undefined
    this.stopQueue.shift()
    return stop
  }

  /** When pickDue() found nothing due: when to look again. */
  private pickNextAt = Infinity

  /** The earliest due job among targets that may announce now (popped), else -1 with `pickNextAt` set. */
  private pickDue (now: number): number {
    let best: TargetState | undefined
    let bestDue = Infinity
    let nextAt = Infinity
    const due = this.jobs.due
    for (const state of this.targetList) {
      const head = state.heap.peek()
      if (head < 0) continue
      if (state.inFlight >= state.target.maxInFlight) continue // woken again when one finishes
      const at = Math.max(due[head], state.pausedUntil)
      if (at > now) { nextAt = Math.min(nextAt, at); continue }
      if (due[head] < bestDue) { best = state; bestDue = due[head] }
    }
    this.pickNextAt = nextAt
    if (best === undefined) return -1
    return best.heap.pop()
  }

  private arm (at: number): void {
    if (at === Infinity) {
      if (this.timer) this.clock.clearTimeout(this.timer)
      this.timer = null
      this.timerAt = Infinity
      return
    }
    if (this.timer && this.timerAt <= at) return
    if (this.timer) this.clock.clearTimeout(this.timer)
    this.timerAt = at
    this.timer = this.clock.setTimeout(() => { this.timer = null; this.timerAt = Infinity; this.pump() }, Math.max(0, at - this.opts.now()))
  }

  private dispatch (j: number): void {
    const jobs = this.jobs
    jobs.flags[j] |= J_IN_FLIGHT
    const state = this.targetList[jobs.target[j]]
    if (state.target.announceBatch) {
      // Counted in flight now, sent with the rest of this pass's jobs for the target.
      if (state.batch.length === 0) this.batching.push(state)
      state.batch.push(j)
      this.calls.reserve(state)
      return
    }
    const event = EVENTS[jobs.event[j]]
    const infoHash = this.set.torrents.key(jobs.torrent[j])
    this.calls.run(state, infoHash, event, (outcome, err) => this.finish(j, infoHash, event, outcome, err))
  }

  /** The jobs one pass picked for a batching target, in one call (in-flight.ts); one pump when they all finish. */
  private sendBatch (state: TargetState): void {
    const picked = state.batch.splice(0)
    const keys = picked.map(j => this.set.torrents.key(this.jobs.torrent[j]))
    const events = picked.map(j => EVENTS[this.jobs.event[j]])
    this.calls.batch(state, keys, (outcome, err) => {
      for (let i = 0; i < picked.length; i++) this.finish(picked[i], keys[i], events[i], outcome, err, false)
      this.pump()
    })
  }

  private dispatchStop (stop: StopJob): void {
    this.calls.run(stop.target, stop.infoHash, 'stopped', (outcome, err) => {
      const result = this.outcomes.account(stop.target, stop.infoHash, 'stopped', outcome, err, this.closing)
      this.emit('result', stop.infoHash, stop.target.target.key, result)
      this.pump()
    })
  }

  private finish (j: number, infoHash: string, event: AnnounceEvent, outcome: AnnounceOutcome | undefined, err: unknown, pump = true): void {
    const jobs = this.jobs
    const state = this.targetList[jobs.target[j]]
    jobs.flags[j] &= ~J_IN_FLIGHT
    const removed = (jobs.flags[j] & J_REMOVED) !== 0
    if ((jobs.flags[j] & J_HAS_LAST) === 0) this.counters.attemptedOnce += 1
    const failed = outcome === undefined && !this.closing
    // Counted before account() so its per-torrent warning sees the first failure.
    const failures = outcome ? 0 : failed ? Math.min(jobs.failures[j] + 1, 0xffff) : jobs.failures[j]
    const result = this.outcomes.account(state, infoHash, event, outcome, err, this.closing, { failures })
    jobs.failures[j] = failures
    const now = result.at
    if (outcome) {
      if ((jobs.flags[j] & J_ANNOUNCED) === 0) this.counters.announcedOnce += 1
      jobs.flags[j] |= J_ANNOUNCED
      // Unless a reannounce() asked for a fresh `started` while this one was in flight.
      if (EVENTS[jobs.event[j]] === event) jobs.event[j] = EV_UPDATE
      jobs.due[j] = this.outcomes.nextDue(state, outcome, now)
      if (outcome.peers.length > 0 && !removed) this.emit('peers', infoHash, outcome.peers, state.target.key)
    } else if (failed) {
      jobs.due[j] = this.outcomes.retryDue(failures, now)
    }
    if (removed) jobs.release(j)
    else {
      this.set.last.set(j, result)
      if (!this.closing) state.heap.push(j)
    }
    this.emit('result', infoHash, state.target.key, result)
    if (pump) this.pump()
  }

  // ---- status ----

  stats (): SchedulerStats {
    let backlog = 0
    const now = this.opts.now()
    for (const state of this.targetList) {
      const head = state.heap.peek()
      if (head >= 0 && this.jobs.due[head] <= now) backlog += 1 // cheap lower bound; exact counting would walk the heap
    }
    return {
      jobs: this.set.count,
      inFlight: this.calls.count,
      announces: this.outcomes.announces,
      failures: this.outcomes.failures,
      attemptedOnce: this.counters.attemptedOnce,
      announcedOnce: this.counters.announcedOnce,
      backlog
    }
  }

  targetStatus (): TargetStatus[] {
    const now = this.opts.now()
    return this.targetList.map(s => ({
      key: s.target.key,
      jobs: s.heap.size,
      inFlight: s.inFlight,
      announces: s.announces,
      failures: s.failures,
      pausedUntil: s.pausedUntil > now ? s.pausedUntil : undefined,
      last: s.last,
      intervalMs: Math.min(this.opts.maxIntervalMs, Math.max(this.opts.minIntervalMs, s.last?.intervalMs ?? s.target.defaultIntervalMs))
    }))
  }

  /** Last result per target for one torrent. */
  torrentStatus (infoHash: string): Array<{ target: string, due: number, failures: number, last: AnnounceResult | undefined }> {
    return this.set.torrentStatus(infoHash)
  }

  /** Gives back the tables' growth slack (after a large load). */
  trim (): void {
    this.set.trim()
  }

  /**
   * Stops scheduling; sends `stopped` to trackers for as many announced torrents as the rate
   * budget allows within `stopTimeoutMs` (the rest expire at the tracker after its interval),
   * then aborts what is still in flight and closes the targets. Safe to call twice.
   */
  async close (): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.set.retireAll()
    this.pump()
    await new Promise<void>(resolve => {
      const done = (): void => { this.clock.clearTimeout(deadline); this.idleWaiters.delete(done); resolve() }
      const deadline = this.clock.setTimeout(done, this.opts.stopTimeoutMs)
      this.idleWaiters.add(done)
      if (this.calls.count === 0 && this.stopQueue.length === 0) done()
    })
    this.closedFlag = true
    this.stopQueue.length = 0
    this.arm(Infinity)
    this.calls.endAll(() => new TorrentFishError('ERR_SHUTDOWN', 'shutting down'))
    for (const state of this.targetList) {
      try { await state.target.close?.() } catch {}
    }
  }
}
