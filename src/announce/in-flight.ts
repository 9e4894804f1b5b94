/**
 * The announce scheduler's calls to its targets while they are in flight: one announce with
 * its timeout and abort, or a batching target's jobs of one pass in one call, each counted in
 * flight (overall and per target) until it ends, and ended all at once by close(). Which job
 * goes out, and what its answer means, is the scheduler's. Isomorphic.
 */
import type { Clock } from '../util/clock.ts'
import { TrackerUnreachableError } from './errors.ts'
import type { AnnounceEvent, AnnounceOutcome } from './target.ts'
import type { TargetState } from './target-state.ts'

/** How a call ends: once, with the outcome or the error. */
export type CallEnd = (outcome: AnnounceOutcome | undefined, err: unknown) => void

export class InFlight {
  /** Announces in flight across every target (a batch counts each of its jobs). */
  count = 0
  private readonly clock: Clock
  private readonly timeoutMs: number
  /** Announces in flight: their abort (a batch: a token), and how to end them (close() ends what is left). */
  private readonly running = new Map<AbortController | object, (outcome: undefined, err: unknown) => void>()

  constructor (clock: Clock, timeoutMs: number) {
    this.clock = clock
    this.timeoutMs = timeoutMs
  }

  /** Counts a batching target's job in flight now; it is sent with the rest of the pass's by {@link batch}. */
  reserve (state: TargetState): void {
    state.inFlight += 1
    this.count += 1
  }

  /**
   * One announce with its timeout and abort; `done` runs once with the outcome or the error.
   * The timeout (and close()) ends the announce directly and aborts the target's work: no abort
   * listener or second promise per announce, which at the budget's rate is most of the cost
   * of an announce that LSD or a UDP tracker makes in microseconds.
   */
  run (state: TargetState, infoHash: string, event: AnnounceEvent, done: CallEnd): void {
    const controller = new AbortController()
    state.inFlight += 1
    this.count += 1
    let over = false
    const end = (outcome: AnnounceOutcome | undefined, err: unknown): void => {
      if (over) return
      over = true
      this.clock.clearTimeout(timeout)
      this.running.delete(controller)
      state.inFlight -= 1
      this.count -= 1
      done(outcome, err)
    }
    this.running.set(controller, end)
    const timeout = this.clock.setTimeout(() => {
      const err = new TrackerUnreachableError(state.target.key, `no answer within ${this.timeoutMs} ms`)
      controller.abort(err)
      end(undefined, err)
    }, this.timeoutMs)
    let settled: Promise<AnnounceOutcome>
    try {
      settled = state.target.announce(infoHash, event, controller.signal)
    } catch (err) {
      settled = Promise.reject(err)
    }
    settled.then(outcome => end(outcome, undefined), err => end(undefined, err))
  }

  /**
   * The jobs one pass {@link reserve}d for a batching target (their keys), in one call: no
   * timeout, abort or promise per announce (the target's messages cannot hang). `done` runs
   * once, after they are no longer counted in flight.
   */
  batch (state: TargetState, keys: string[], done: CallEnd): void {
    const size = keys.length
    const token = {}
    let over = false
    const end = (outcome: AnnounceOutcome | undefined, err: unknown): void => {
      if (over) return
      over = true
      this.running.delete(token)
      state.inFlight -= size
      this.count -= size
      done(outcome, err)
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

  /** Ends every call still in flight, each with an error of its own, aborting the target's work where it has a signal. */
  endAll (error: () => unknown): void {
    for (const [c, end] of [...this.running]) {
      const err = error()
      if (c instanceof AbortController) c.abort(err)
      end(undefined, err)
    }
  }
}
