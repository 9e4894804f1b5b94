/**
 * One scheduler for every announce of every torrent: trackers, the DHT and LSD alike.
 *
 * 100k torrents must not mean 100k timers or sockets. Each (torrent, target) pair is a row of
 * the packed job table (job-table.ts) in a heap per target, keyed by when it is due; one timer wakes the scheduler
 * at the next due time or the next free slot of the rate budget. The budget (announces per
 * second, shared by all targets) is a pacer: slots are spaced 1/rate apart with a few
 * milliseconds of credit, so start-up is a steady ramp, never a burst (above 10/s the slots of
 * one tick, 24 slots or 120 ms, go together). Intervals come from
 * the target's answer (a tracker's `interval` / `min interval`), clamped and lengthened by a
 * little jitter; failures back off exponentially with jitter, and a target that keeps failing
 * to answer is paused as a whole, so a dead tracker does not eat the budget of live ones.
 */
import { TorrentFishError } from '../core/errors.ts'
import { EventEmitter } from 'events'
import { EV_STARTED, EV_UPDATE, EVENTS, J_ANNOUNCED, J_HAS_LAST, J_IN_FLIGHT, J_REMOVED, JobTable, TorrentKeys } from './job-table.ts'
import { newTargetState, type TargetState } from './target-state.ts'
import { LastResults } from './last-results.ts'
import { backoffDelay } from '../util/backoff.ts'
import { systemClock, type Clock, type TimerHandle } from '../util/clock.ts'
import { TrackerUnreachableError } from './errors.ts'
import { resolveOptions, integerIn, numberIn, type OptionSpec } from '../util/options.ts'
import type { AnnounceEvent, AnnounceOutcome, AnnounceTarget } from './target.ts'
import { SCHEDULER_DEFAULTS, type AnnounceResult, type SchedulerEvents, type SchedulerOptions, type SchedulerStats, type TargetStatus } from './scheduler-options.ts'

export type { AnnounceEvent, AnnounceOutcome, AnnounceTarget } from './target.ts'
export { SCHEDULER_DEFAULTS, AUTO_RATE } from './scheduler-options.ts'
export type { AnnounceResult, SchedulerEvents, SchedulerOptions, SchedulerStats, TargetStatus } from './scheduler-options.ts'

/** A `stopped` owed to a target for a removed torrent: rare (removals, shutdown), so an object. */
interface StopJob {
  readonly infoHash: string
  readonly target: TargetState
}

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

/** Credit the pacer may bank after idling, so timer lateness does not lower the real rate. */
const PACER_CREDIT_MS = 20
/**
 * When slots are close together the pacer wakes once per tick and sends every slot that fell
 * due in it (never earlier than its slot): a tick is 24 slots (one full LSD datagram, which
 * a batching target gets in one call), at most 120 ms. At 200/s that is 8 wake-ups a second
 * instead of 200: an event-loop wake-up (epoll, the timer list, a microtask flush) cost more
 * than the announce itself. A tick that fires late can put at most one tick's slots more into
 * a one-second window. At 10/s or less every slot has its own wake-up.
 */
const PACER_TICK_MS = 120
const PACER_TICK_SLOTS = 24
const PACER_TICKS_ABOVE_RATE = 10

export class AnnounceScheduler extends EventEmitter<SchedulerEvents> {
  rate: number
  private readonly maxInFlight: number
  private readonly opts: Required<Omit<SchedulerOptions, 'rate' | 'maxInFlight' | 'clock'>> & { now: () => number }
  private readonly clock: Clock
  private readonly targets = new Map<string, TargetState>()
  private readonly targetList: TargetState[] = []
  /** Every (torrent, target) job, packed (see job-table.ts). */
  private readonly jobs = new JobTable()
  private torrents = new TorrentKeys()
  /** Each job's last result (columns plus interned shapes). */
  private readonly last = new LastResults(this.jobs)
  private readonly stopQueue: StopJob[] = []
  /** Announces in flight: their abort (a batch: a token), and how to end them (close() ends what is left). */
  private readonly running = new Map<AbortController | object, (outcome: undefined, err: unknown) => void>()
  /** Batching targets with jobs picked in the current pass. */
  private readonly batching: TargetState[] = []
  private inFlight = 0
  private nextSlot = 0
  private timer: TimerHandle | null = null
  private timerAt = Infinity
  private closing = false
  private closedFlag = false
  private counters = { announces: 0, failures: 0, attemptedOnce: 0, announcedOnce: 0, jobs: 0 }
  private readonly idleWaiters = new Set<() => void>()

  constructor (options: SchedulerOptions = {}) {
    super()
    const o = resolveOptions('scheduler', SCHEDULER_DEFAULTS as Required<Omit<SchedulerOptions, 'clock' | 'random'>>, SPEC, options as Record<string, unknown>, ['clock', 'random'])
    this.rate = o.rate
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
  }

  get closed (): boolean { return this.closedFlag }

  /** Bytes the packed job and torrent tables hold (for the memory figures). */
  get packedBytes (): number {
    let heaps = 0
    for (const s of this.targetList) heaps += s.heap.bytes
    return this.jobs.bytes + this.torrents.bytes + heaps
  }

  /** Changes the announce budget (announces per second) from now on. */
  setRate (rate: number): void {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`announce rate must be a positive number, got ${rate}`)
    this.rate = rate
    this.pump()
  }

  /** Starts announcing a torrent to these targets (adds targets not announced to yet). */
  add (infoHash: string, targets: AnnounceTarget[]): void {
    if (this.closing || targets.length === 0) return
    const now = this.opts.now()
    const jobs = this.jobs
    let tid = this.torrents.find(infoHash)
    let tail = -1
    if (tid >= 0) for (let j = this.torrents.first[tid]; j >= 0; j = jobs.nextOfTorrent[j]) tail = j
    for (const target of targets) {
      if (tid >= 0 && this.jobOf(tid, target.key) >= 0) continue
      const state = this.targetState(target)
      if (tid < 0) tid = this.torrents.insert(infoHash)
      const j = jobs.alloc()
      jobs.torrent[j] = tid
      jobs.target[j] = state.index
      jobs.due[j] = now + Math.floor(this.opts.random() * this.opts.startJitterMs)
      jobs.event[j] = EV_STARTED
      // Kept in the order added, as torrentStatus() lists them.
      if (tail < 0) this.torrents.first[tid] = j
      else jobs.nextOfTorrent[tail] = j
      tail = j
      state.heap.push(j)
      this.counters.jobs += 1
    }
    this.pump()
  }

  /** The job of a torrent for one target key, or -1. */
  private jobOf (tid: number, key: string): number {
    for (let j = this.torrents.first[tid]; j >= 0; j = this.jobs.nextOfTorrent[j]) {
      if (this.targetList[this.jobs.target[j]].target.key === key) return j
    }
    return -1
  }

  /** Stops announcing a torrent; trackers it was announced to get a `stopped`. */
  remove (infoHash: string): void {
    const tid = this.torrents.find(infoHash)
    if (tid < 0) return
    for (let j = this.torrents.first[tid]; j >= 0;) {
      const next = this.jobs.nextOfTorrent[j]
      this.retire(j, infoHash, true)
      j = next
    }
    this.torrents.delete(tid)
    this.pump()
  }

  has (infoHash: string): boolean { return this.torrents.find(infoHash) >= 0 }

  /** Ends a job: out of its heap now, its index freed now or (in flight) when its announce ends. */
  private retire (j: number, infoHash: string | undefined, sendStopped: boolean): void {
    const jobs = this.jobs
    const state = this.targetList[jobs.target[j]]
    this.counters.jobs -= 1
    if (sendStopped && (jobs.flags[j] & J_ANNOUNCED) !== 0 && state.target.sendsStopped) {
      this.stopQueue.push({ infoHash: infoHash ?? this.torrents.key(jobs.torrent[j]), target: state })
    }
    this.last.forget(j)
    if ((jobs.flags[j] & J_IN_FLIGHT) !== 0) { jobs.flags[j] |= J_REMOVED; return }
    state.heap.remove(j)
    jobs.release(j)
  }

  private targetState (target: AnnounceTarget): TargetState {
    let state = this.targets.get(target.key)
    if (!state) {
      state = newTargetState(target, this.targetList.length, this.jobs, w => this.emit('warning', w), this.opts.now)
      this.targets.set(target.key, state)
      this.targetList.push(state)
      target.attach?.({ reannounce: () => this.reannounce(target.key) })
    }
    return state
  }

  /**
   * Makes every torrent of one target due again as `started`, spread over the start jitter
   * and paced by the budget like any other announce (a WebSocket tracker that reconnected
   * has forgotten them).
   */
  reannounce (key: string): void {
    const state = this.targets.get(key)
    if (!state || this.closing) return
    const now = this.opts.now()
    const jobs = this.jobs
    for (let i = 0; i < state.heap.size; i++) {
      const j = state.heap.at(i)
      jobs.due[j] = now + Math.floor(this.opts.random() * this.opts.startJitterMs)
      jobs.event[j] = EV_STARTED
    }
    state.heap.rebuild()
    // Jobs in flight re-queue themselves when they finish; mark them to start again too.
    for (let j = 0; j < jobs.extent; j++) {
      if ((jobs.flags[j] & (J_IN_FLIGHT | J_REMOVED)) === J_IN_FLIGHT && jobs.target[j] === state.index) jobs.event[j] = EV_STARTED
    }
    this.pump()
  }

  /**
   * Sets the targets of an announced torrent (its trackers changed): new targets start, targets
   * it no longer names get a `stopped`, the others keep their schedule.
   */
  update (infoHash: string, targets: AnnounceTarget[]): void {
    if (this.closing) return
    const tid = this.torrents.find(infoHash)
    if (tid < 0) { this.add(infoHash, targets); return }
    const keys = new Set(targets.map(t => t.key))
    const jobs = this.jobs
    let prev = -1
    for (let j = this.torrents.first[tid]; j >= 0;) {
      const next = jobs.nextOfTorrent[j]
      if (keys.has(this.targetList[jobs.target[j]].target.key)) { prev = j } else {
        if (prev < 0) this.torrents.first[tid] = next
        else jobs.nextOfTorrent[prev] = next
        this.retire(j, infoHash, true)
      }
      j = next
    }
    if (this.torrents.first[tid] < 0) this.torrents.delete(tid)
    this.add(infoHash, targets)
  }

  // ---- the loop ----

  private pump (): void {
    if (this.closedFlag) return
    const now = this.opts.now()
    const spacing = 1000 / this.rate
    // With ticks the pacer's clock moves in whole ticks: pumps between two ticks (an announce
    // finishing) send nothing new, the next tick sends what fell due meanwhile.
    // Whole milliseconds, so the tick boundaries are exact (a fractional modulo could land a
    // wake-up just before its boundary and wake again at once).
    const tick = Math.floor(Math.min(PACER_TICK_MS, PACER_TICK_SLOTS * spacing))
    const ticked = this.rate > PACER_TICKS_ABOVE_RATE && tick > spacing
    const pacerNow = ticked ? Math.floor(now) - (Math.floor(now) % tick) : now
    // After an idle spell the pacer banks only a little credit; between ticks a whole tick is
    // owed (the slots since the last tick), which is no credit at all.
    if (this.nextSlot < pacerNow - (ticked ? tick : PACER_CREDIT_MS)) this.nextSlot = pacerNow - PACER_CREDIT_MS
    let wakeAt = Infinity
    while (this.inFlight < this.maxInFlight) {
      if (this.nextSlot > pacerNow) { wakeAt = ticked ? Math.max(pacerNow + tick, Math.floor(now) + 1) : this.nextSlot; break }
      const stop = this.nextStop()
      if (stop !== undefined) {
        this.nextSlot += spacing
        this.dispatchStop(stop)
        continue
      }
      if (this.closing) break
      const pick = this.pickDue(now)
      if (pick < 0) { wakeAt = this.pickNextAt; break }
      this.nextSlot += spacing
      this.dispatch(pick)
    }
    for (const state of this.batching) this.sendBatch(state)
    this.batching.length = 0
    this.arm(wakeAt)
    if (this.inFlight === 0 && this.stopQueue.length === 0) for (const w of [...this.idleWaiters]) w()
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
      state.inFlight += 1
      this.inFlight += 1
      return
    }
    const event = EVENTS[jobs.event[j]]
    const infoHash = this.torrents.key(jobs.torrent[j])
    this.run(state, infoHash, event, (outcome, err) => this.finish(j, infoHash, event, outcome, err))
  }

  /**
   * The jobs one pass picked for a batching target, in one call: no timeout, abort or promise
   * per announce (the target's messages cannot hang), one pump when they all finish.
   */
  private sendBatch (state: TargetState): void {
    const picked = state.batch.splice(0)
    const keys = picked.map(j => this.torrents.key(this.jobs.torrent[j]))
    const events = picked.map(j => EVENTS[this.jobs.event[j]])
    const token = {}
    let over = false
    const end = (outcome: AnnounceOutcome | undefined, err: unknown): void => {
      if (over) return
      over = true
      this.running.delete(token)
      state.inFlight -= picked.length
      this.inFlight -= picked.length
      for (let i = 0; i < picked.length; i++) this.finish(picked[i], keys[i], events[i], outcome, err, false)
      this.pump()
    }
    this.running.set(token, end)
    let settled: Promise<AnnounceOutcome>
    try {
      settled = state.target.announceBatch!(keys)
    } catch (err) {
      settled = Promise.reject(err)
    }
    settled.then(outcome => end(outcome, undefined), err => end(undefined, err))
  }

  private dispatchStop (stop: StopJob): void {
    this.run(stop.target, stop.infoHash, 'stopped', (outcome, err) => {
      const result = this.account(stop.target, stop.infoHash, 'stopped', outcome, err)
      this.emit('result', stop.infoHash, stop.target.target.key, result)
      this.pump()
    })
  }

  /**
   * One announce with its timeout and abort; `done` runs once with the outcome or the error.
   * The timeout (and close()) ends the announce directly and aborts the target's work: no abort
   * listener or second promise per announce, which at the budget's rate is most of the cost
   * of an announce that LSD or a UDP tracker makes in microseconds.
   */
  private run (state: TargetState, infoHash: string, event: AnnounceEvent, done: (outcome: AnnounceOutcome | undefined, err: unknown) => void): void {
    const controller = new AbortController()
    state.inFlight += 1
    this.inFlight += 1
    let over = false
    const end = (outcome: AnnounceOutcome | undefined, err: unknown): void => {
      if (over) return
      over = true
      this.clock.clearTimeout(timeout)
      this.running.delete(controller)
      state.inFlight -= 1
      this.inFlight -= 1
      done(outcome, err)
    }
    this.running.set(controller, end)
    const timeout = this.clock.setTimeout(() => {
      const err = new TrackerUnreachableError(state.target.key, `no answer within ${this.opts.announceTimeoutMs} ms`)
      controller.abort(err)
      end(undefined, err)
    }, this.opts.announceTimeoutMs)
    let settled: Promise<AnnounceOutcome>
    try {
      settled = state.target.announce(infoHash, event, controller.signal)
    } catch (err) {
      settled = Promise.reject(err)
    }
    settled.then(outcome => end(outcome, undefined), err => end(undefined, err))
  }

  /** The target's side of a finished announce (counters, pausing, warnings); returns its result. */
  private account (state: TargetState, infoHash: string, event: AnnounceEvent, outcome: AnnounceOutcome | undefined, err: unknown, job?: { failures: number }): AnnounceResult {
    const now = this.opts.now()
    state.announces += 1
    this.counters.announces += 1
    let result: AnnounceResult
    if (outcome) {
      result = {
        ok: true,
        at: now,
        event,
        peers: outcome.peers.length,
        ...(outcome.seeders !== undefined ? { seeders: outcome.seeders } : {}),
        ...(outcome.leechers !== undefined ? { leechers: outcome.leechers } : {}),
        ...(outcome.intervalMs !== undefined ? { intervalMs: outcome.intervalMs } : {})
      }
      if (state.consecutiveFailures >= this.opts.pauseAfterFailures) {
        this.emit('warning', { code: 'INFO_TRACKER_BACK', message: `${state.target.key} answers again`, target: state.target.key })
      }
      state.consecutiveFailures = 0
      state.pausedUntil = 0
    } else if (this.closing) {
      // Aborted by close(): not the target's fault, nothing to warn about or retry.
      const e = err as { code?: string, message?: string }
      result = { ok: false, at: now, event, code: e?.code ?? 'ERR_ANNOUNCE', message: e?.message ?? String(err) }
    } else {
      const e = err as { code?: string, message?: string }
      result = { ok: false, at: now, event, code: e?.code ?? 'ERR_ANNOUNCE', message: e?.message ?? String(err) }
      state.failures += 1
      this.counters.failures += 1
      // A refusal concerns one torrent; anything else (no answer, garbage, no DHT nodes)
      // concerns the target, and is said once per target, not once per torrent.
      const unreachable = e?.code !== 'ERR_TRACKER_FAILURE' && e?.code !== 'ERR_TRACKER_BAD_RESPONSE'
      if (unreachable) {
        state.consecutiveFailures += 1
        if (state.consecutiveFailures === 1 && event !== 'stopped') {
          this.emit('warning', { code: result.code!, message: `announce to ${state.target.key} failed: ${result.message}`, target: state.target.key })
        }
        if (state.consecutiveFailures >= this.opts.pauseAfterFailures) {
          const pause = backoffDelay(state.consecutiveFailures - this.opts.pauseAfterFailures + 1, { baseMs: this.opts.retryBaseMs, maxMs: this.opts.retryMaxMs }, this.opts.random)
          state.pausedUntil = now + pause
          if (state.consecutiveFailures === this.opts.pauseAfterFailures) {
            this.emit('warning', { code: 'WARN_TRACKER_PAUSED', message: `${state.target.key} failed ${state.consecutiveFailures} announces in a row (${result.message}); pausing it for ${Math.round(pause / 1000)} s`, target: state.target.key })
          }
        }
      }
      if (job && event !== 'stopped' && job.failures === 1 && !unreachable) {
        state.warnings.warn({ code: result.code!, message: `announce of ${infoHash} to ${state.target.key} failed: ${result.message}`, infoHash, target: state.target.key })
      }
    }
    state.last = result
    return result
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
    const result = this.account(state, infoHash, event, outcome, err, { failures })
    jobs.failures[j] = failures
    const now = result.at
    if (outcome) {
      if ((jobs.flags[j] & J_ANNOUNCED) === 0) this.counters.announcedOnce += 1
      jobs.flags[j] |= J_ANNOUNCED
      // Unless a reannounce() asked for a fresh `started` while this one was in flight.
      if (EVENTS[jobs.event[j]] === event) jobs.event[j] = EV_UPDATE
      const asked = outcome.intervalMs ?? state.target.defaultIntervalMs
      const floor = Math.max(this.opts.minIntervalMs, outcome.minIntervalMs ?? 0)
      const interval = Math.min(this.opts.maxIntervalMs, Math.max(floor, asked))
      jobs.due[j] = now + Math.round(interval * (1 + this.opts.jitter * this.opts.random()))
      if (outcome.peers.length > 0 && !removed) this.emit('peers', infoHash, outcome.peers, state.target.key)
    } else if (failed) {
      jobs.due[j] = now + backoffDelay(failures, { baseMs: this.opts.retryBaseMs, maxMs: this.opts.retryMaxMs }, this.opts.random)
    }
    if (removed) jobs.release(j)
    else {
      this.last.set(j, result)
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
      jobs: this.counters.jobs,
      inFlight: this.inFlight,
      announces: this.counters.announces,
      failures: this.counters.failures,
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
    const tid = this.torrents.find(infoHash.toLowerCase())
    const out: Array<{ target: string, due: number, failures: number, last: AnnounceResult | undefined }> = []
    if (tid < 0) return out
    const jobs = this.jobs
    for (let j = this.torrents.first[tid]; j >= 0; j = jobs.nextOfTorrent[j]) {
      out.push({ target: this.targetList[jobs.target[j]].target.key, due: jobs.due[j], failures: jobs.failures[j], last: this.last.get(j) })
    }
    return out
  }

  /** Gives back the tables' growth slack (after a large load). */
  trim (): void {
    this.jobs.trim()
    this.torrents.trim()
    for (const s of this.targetList) s.heap.trim()
  }

  /**
   * Stops scheduling; sends `stopped` to trackers for as many announced torrents as the rate
   * budget allows within `stopTimeoutMs` (the rest expire at the tracker after its interval),
   * then aborts what is still in flight and closes the targets. Safe to call twice.
   */
  async close (): Promise<void> {
    if (this.closing) return
    this.closing = true
    const jobs = this.jobs
    for (let j = 0; j < jobs.extent; j++) {
      if (jobs.heapPos[j] < 0 && (jobs.flags[j] & J_IN_FLIGHT) === 0) continue // free
      if ((jobs.flags[j] & J_REMOVED) !== 0) continue
      this.retire(j, undefined, true) // the key is made only when a `stopped` is owed
    }
    this.torrents = new TorrentKeys()
    this.pump()
    await new Promise<void>(resolve => {
      const done = (): void => { this.clock.clearTimeout(deadline); this.idleWaiters.delete(done); resolve() }
      const deadline = this.clock.setTimeout(done, this.opts.stopTimeoutMs)
      this.idleWaiters.add(done)
      if (this.inFlight === 0 && this.stopQueue.length === 0) done()
    })
    this.closedFlag = true
    this.stopQueue.length = 0
    this.arm(Infinity)
    for (const [c, end] of [...this.running]) {
      const err = new TorrentFishError('ERR_SHUTDOWN', 'shutting down')
      if (c instanceof AbortController) c.abort(err)
      end(undefined, err)
    }
    for (const state of this.targetList) {
      try { await state.target.close?.() } catch {}
    }
  }
}
