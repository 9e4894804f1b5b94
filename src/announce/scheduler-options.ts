/**
 * What the announce scheduler takes and reports: its options and their defaults (each with
 * its reason), the automatic rate, and the shapes of its results and status. Separate from
 * scheduler.ts so the parts that only configure or display announces need not read the pacer.
 */
import type { Clock } from '../util/clock.ts'
import type { AnnounceEvent } from './target.ts'

/** The last result of one announce, kept per (torrent, target) for status pages. */
export interface AnnounceResult {
  ok: boolean
  at: number
  event: AnnounceEvent
  /** Error code and message when not ok. */
  code?: string
  message?: string
  peers?: number
  seeders?: number
  leechers?: number
  intervalMs?: number
}

export interface SchedulerOptions {
  /** Announces per second across every target (default 50). */
  rate?: number
  /** Announces in flight across every target, at most (default 64). */
  maxInFlight?: number
  /** A new torrent's first announce is due within this many ms (default 2000), spreading a big load. */
  startJitterMs?: number
  /** Never announce a torrent to one target more often than this (default 60 s). */
  minIntervalMs?: number
  /** Never wait longer than this between announces (default 2 h). */
  maxIntervalMs?: number
  /** Re-announce up to this fraction later than asked, so torrents loaded together drift apart (default 0.1). */
  jitter?: number
  /** Backoff after failures of one (torrent, target) pair. */
  retryBaseMs?: number
  retryMaxMs?: number
  /** Consecutive unreachable answers after which a target is paused as a whole (default 3). */
  pauseAfterFailures?: number
  /** Per-announce timeout (default 20 s). */
  announceTimeoutMs?: number
  /** How long close() keeps sending `stopped` announces (default 3 s). */
  stopTimeoutMs?: number
  random?: () => number
  /** Time source and timers (tests inject a manual clock); default the system clock. */
  clock?: Clock
}

/** Status of one target, e.g. one tracker. */
export interface TargetStatus {
  key: string
  jobs: number
  inFlight: number
  announces: number
  failures: number
  pausedUntil: number | undefined
  last: AnnounceResult | undefined
  /** The re-announce interval in use: the target's last answer, else its default, clamped. */
  intervalMs: number
}

export interface SchedulerStats {
  jobs: number
  inFlight: number
  announces: number
  failures: number
  /** Jobs whose first announce has completed (successfully or not). */
  attemptedOnce: number
  /** Jobs announced successfully at least once. */
  announcedOnce: number
  /** Jobs due now but waiting for the rate budget. */
  backlog: number
}

export interface SchedulerEvents {
  /** Peers learned from an announce. */
  peers: [infoHash: string, peers: string[], target: string]
  /** Every finished announce. */
  result: [infoHash: string, target: string, result: AnnounceResult]
  warning: [{ code: string, message: string, infoHash?: string, target?: string }]
}

/** Defaults of {@link SchedulerOptions}, each with its reason. */
export const SCHEDULER_DEFAULTS = {
  /**
   * Announces per second over every target. 100k torrents take ~35 min to announce once at
   * 50/s: a steady ramp that no tracker rate-limits, and a restart never looks like a flood.
   */
  rate: 50,
  /** Sockets and requests in flight at once; with 20 s timeouts this bounds memory for dead trackers. */
  maxInFlight: 64,
  /** Torrents loaded together (a directory scan) spread their first announce over 2 s. */
  startJitterMs: 2000,
  /** No tracker may make us announce a torrent more than once a minute (BEP 3 trackers ask 30 min). */
  minIntervalMs: 60_000,
  /** A tracker asking for more than 2 h would forget us before we come back. */
  maxIntervalMs: 2 * 3600_000,
  /** Up to 10% later than asked, so torrents announced together drift apart. */
  jitter: 0.1,
  /** First retry after 30 s, doubling: a tracker blip costs little, an outage backs off to an hour. */
  retryBaseMs: 30_000,
  retryMaxMs: 3600_000,
  /** Three unanswered announces in a row: the tracker is down, pause it as a whole. */
  pauseAfterFailures: 3,
  /** Trackers answer in well under a second; 20 s covers a slow one without holding slots forever. */
  announceTimeoutMs: 20_000,
  /** Shutdown waits at most 3 s for `stopped` announces; the rest expire at the tracker. */
  stopTimeoutMs: 3000
}

/**
 * The automatic rate, used when no `rate` is given to the service (src/sources/coverage.ts plans
 * it): never below the default rate, raised with the torrent count so each torrent is announced
 * again before trackers and the DHT forget it, up to a cap that stays polite to public trackers.
 */
export const AUTO_RATE = {
  floor: SCHEDULER_DEFAULTS.rate,
  /** 200/s re-announces ~360k torrents per 30 min; beyond that, shards (`--shard K/N`) are the answer. */
  cap: 200
}

