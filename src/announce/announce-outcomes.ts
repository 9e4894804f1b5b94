/**
 * What a finished announce means, for the announce scheduler: its result record, its target's
 * side of it (counted; a streak of unanswered announces pauses the target as a whole, so a dead
 * tracker does not eat the budget of live ones; a warning said once per target, a refusal once
 * per torrent), and when the job is due again: the target's interval, clamped and lengthened by
 * a little jitter, or after a failure an exponential backoff with jitter. Isomorphic.
 */
import { backoffDelay } from '../util/backoff.ts'
import type { AnnounceEvent, AnnounceOutcome } from './target.ts'
import type { TargetState, SchedulerWarning } from './target-state.ts'
import type { AnnounceResult, SchedulerOptions } from './scheduler-options.ts'

/** The scheduler's resolved options that outcomes read. */
export type OutcomeOptions = Required<Pick<SchedulerOptions, 'pauseAfterFailures' | 'retryBaseMs' | 'retryMaxMs' | 'minIntervalMs' | 'maxIntervalMs' | 'jitter' | 'random'>> & { now: () => number }

export class AnnounceOutcomes {
  /** Announces finished, over every target. */
  announces = 0
  /** Of those, failed (not counting the ones close() ended). */
  failures = 0
  private readonly opts: OutcomeOptions
  private readonly warn: (w: SchedulerWarning) => void

  constructor (opts: OutcomeOptions, warn: (w: SchedulerWarning) => void) {
    this.opts = opts
    this.warn = warn
  }

  /**
   * The target's side of a finished announce (counters, pausing, warnings); returns its result.
   * `closing`: close() ended it, not the target's fault. `job`: the job's failures in a row,
   * this one counted (none for a `stopped`).
   */
  account (state: TargetState, infoHash: string, event: AnnounceEvent, outcome: AnnounceOutcome | undefined, err: unknown, closing: boolean, job?: { failures: number }): AnnounceResult {
    const now = this.opts.now()
    state.announces += 1
    this.announces += 1
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
        this.warn({ code: 'INFO_TRACKER_BACK', message: `${state.target.key} answers again`, target: state.target.key })
      }
      state.consecutiveFailures = 0
      state.pausedUntil = 0
    } else if (closing) {
      // Aborted by close(): not the target's fault, nothing to warn about or retry.
      const e = err as { code?: string, message?: string }
      result = { ok: false, at: now, event, code: e?.code ?? 'ERR_ANNOUNCE', message: e?.message ?? String(err) }
    } else {
      const e = err as { code?: string, message?: string }
      result = { ok: false, at: now, event, code: e?.code ?? 'ERR_ANNOUNCE', message: e?.message ?? String(err) }
      state.failures += 1
      this.failures += 1
      // A refusal concerns one torrent; anything else (no answer, garbage, no DHT nodes)
      // concerns the target, and is said once per target, not once per torrent.
      const unreachable = e?.code !== 'ERR_TRACKER_FAILURE' && e?.code !== 'ERR_TRACKER_BAD_RESPONSE'
      if (unreachable) {
        state.consecutiveFailures += 1
        if (state.consecutiveFailures === 1 && event !== 'stopped') {
          this.warn({ code: result.code!, message: `announce to ${state.target.key} failed: ${result.message}`, target: state.target.key })
        }
        if (state.consecutiveFailures >= this.opts.pauseAfterFailures) {
          const pause = backoffDelay(state.consecutiveFailures - this.opts.pauseAfterFailures + 1, { baseMs: this.opts.retryBaseMs, maxMs: this.opts.retryMaxMs }, this.opts.random)
          state.pausedUntil = now + pause
          if (state.consecutiveFailures === this.opts.pauseAfterFailures) {
            this.warn({ code: 'WARN_TRACKER_PAUSED', message: `${state.target.key} failed ${state.consecutiveFailures} announces in a row (${result.message}); pausing it for ${Math.round(pause / 1000)} s`, target: state.target.key })
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

  /** When a job the target answered at `now` is due again: the interval it asked for, clamped, plus jitter. */
  nextDue (state: TargetState, outcome: AnnounceOutcome, now: number): number {
    const asked = outcome.intervalMs ?? state.target.defaultIntervalMs
    const floor = Math.max(this.opts.minIntervalMs, outcome.minIntervalMs ?? 0)
    const interval = Math.min(this.opts.maxIntervalMs, Math.max(floor, asked))
    return now + Math.round(interval * (1 + this.opts.jitter * this.opts.random()))
  }

  /** When a job that failed `failures` times in a row is due again. */
  retryDue (failures: number, now: number): number {
    return now + backoffDelay(failures, { baseMs: this.opts.retryBaseMs, maxMs: this.opts.retryMaxMs }, this.opts.random)
  }
}
