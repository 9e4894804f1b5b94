/**
 * The scheduler's state for one announce target: its heap of jobs, what is in flight, its
 * failure streak and pause, and (for a target that announces many torrents in one message)
 * the jobs collected for its next message. Isomorphic.
 */
import { JobHeap, type JobTable } from './job-table.ts'
import type { AnnounceResult, SchedulerEvents } from './scheduler-options.ts'
import type { AnnounceTarget } from './target.ts'
import { WarnThrottle } from '../util/warn-throttle.ts'

export type SchedulerWarning = SchedulerEvents['warning'][0]

/** Warnings per target per minute; beyond this they are counted and summarised. */
const WARNINGS_PER_MINUTE = 10

export interface TargetState {
  readonly target: AnnounceTarget
  /** Index in the scheduler's target list (the job table's `target` column). */
  readonly index: number
  readonly heap: JobHeap
  inFlight: number
  consecutiveFailures: number
  pausedUntil: number
  announces: number
  failures: number
  last: AnnounceResult | undefined
  /** A few failure warnings a minute per target; the rest are counted in one summary. */
  readonly warnings: WarnThrottle<SchedulerWarning>
  /** Jobs picked in this pump for a batching target (`announceBatch`), sent together after it. */
  readonly batch: number[]
}

export function newTargetState (target: AnnounceTarget, index: number, jobs: JobTable, warn: (w: SchedulerWarning) => void, now: () => number): TargetState {
  return {
    target,
    index,
    heap: new JobHeap(jobs),
    inFlight: 0,
    consecutiveFailures: 0,
    pausedUntil: 0,
    announces: 0,
    failures: 0,
    last: undefined,
    warnings: new WarnThrottle<SchedulerWarning>(warn, WARNINGS_PER_MINUTE, now, n =>
      ({ code: 'WARN_ANNOUNCE_SUPPRESSED', message: `${n} more announce failures at ${target.key} not shown`, target: target.key })),
    batch: []
  }
}
