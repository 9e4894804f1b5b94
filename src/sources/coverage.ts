/**
 * Announce coverage, planned rather than hoped for. An announce keeps a torrent findable at
 * a target only until the target forgets it: DHT nodes drop a peer after ~30 minutes,
 * trackers after their interval. One scheduler paces every announce at `rate` per second, so
 * when the torrents × targets ask for more than that, every re-announce slips by the same
 * factor and torrents go dark between rounds.
 *
 * Model, per target t with `jobs_t` torrents re-announced every `interval_t`:
 *   demand  D = sum_t jobs_t / interval_t          (announces per second asked for)
 *   load    L = D / rate
 *   round_t = interval_t * max(1, L)               (time between two announces of a torrent)
 *   covered_t = min(1, expiry_t / round_t)         (share of the time a torrent is findable)
 * Every target is covered when rate >= D * max_t(interval_t / expiry_t); sharding over N
 * instances divides D by N. The figures are read through a narrow interface, so this module
 * does not depend on how the scheduler is built.
 */
import { systemClock, type Clock } from './clock.ts'

/** What coverage needs from the announce scheduler. */
export interface CoverageFigures {
  /** Announces per second now. */
  readonly rate: number
  /** Per target: its key (`dht`, `lsd`, a tracker URL), torrents announced there, and the interval in use. */
  targets (): Array<{ key: string, jobs: number, intervalMs: number }>
}

export interface CoverageOptions {
  /** How long DHT nodes keep a peer (default 30 min). */
  dhtExpiryMs?: number
  /** How long a tracker keeps a peer, from its interval (default: the interval). */
  trackerExpiryMs?: (intervalMs: number) => number
  /** This instance's shard count (for the shard advice), default 1. */
  shards?: number
}

export interface TargetCoverage {
  key: string
  kind: 'dht' | 'lsd' | 'tracker'
  torrents: number
  intervalMs: number
  expiryMs: number
  roundMs: number
  /** Share of the time a torrent is findable there, 0..1. */
  covered: number
}

export interface CoverageReport {
  rate: number
  /** Announces per second the torrents and targets ask for. */
  demand: number
  /** The rate at which every target is covered. */
  neededRate: number
  /** Instances at the current rate that would cover every torrent. */
  neededShards: number
  shards: number
  /** Lowest coverage among targets (1 = every torrent always findable). */
  covered: number
  ok: boolean
  targets: TargetCoverage[]
}

export const DEFAULT_DHT_EXPIRY_MS = 30 * 60_000

export function computeCoverage (figures: CoverageFigures, options: CoverageOptions = {}): CoverageReport {
  const dhtExpiry = options.dhtExpiryMs ?? DEFAULT_DHT_EXPIRY_MS
  const trackerExpiry = options.trackerExpiryMs ?? ((i: number) => i)
  const shards = Math.max(1, options.shards ?? 1)
  const rate = figures.rate
  const list = figures.targets().filter(t => t.jobs > 0 && t.intervalMs > 0)
  let demand = 0
  let worstRatio = 0
  const rows = list.map(t => {
    const kind: TargetCoverage['kind'] = t.key === 'dht' ? 'dht' : t.key === 'lsd' ? 'lsd' : 'tracker'
    const expiryMs = kind === 'dht' ? dhtExpiry : kind === 'lsd' ? t.intervalMs : trackerExpiry(t.intervalMs)
    demand += t.jobs / (t.intervalMs / 1000)
    worstRatio = Math.max(worstRatio, t.intervalMs / expiryMs)
    return { key: t.key, kind, torrents: t.jobs, intervalMs: t.intervalMs, expiryMs }
  })
  const load = rate > 0 ? demand / rate : Infinity
  const targets = rows.map(r => {
    const roundMs = Math.round(r.intervalMs * Math.max(1, load))
    return { ...r, roundMs, covered: Math.min(1, r.expiryMs / roundMs) }
  })
  const neededRate = demand * Math.max(1, worstRatio)
  const covered = targets.reduce((m, t) => Math.min(m, t.covered), 1)
  return {
    rate,
    demand: round2(demand),
    neededRate: round2(neededRate),
    neededShards: Math.max(1, Math.ceil((neededRate * shards) / rate - 1e-9)),
    shards,
    covered: round2(covered),
    ok: covered >= 0.999,
    targets
  }
}

function round2 (n: number): number { return Math.round(n * 100) / 100 }

/** The rate that covers the demand with 10 % headroom, within [floor, cap]. */
export function plannedRate (report: CoverageReport, floor: number, cap: number): number {
  return Math.max(floor, Math.min(cap, Math.ceil(report.neededRate * 1.1)))
}

/** One line for the log: what coverage is and, when short, what would fix it. */
export function describeCoverage (r: CoverageReport): string {
  const per = r.targets.map(t => `${t.kind === 'tracker' ? t.key : t.kind} ${t.torrents} torrents, round ${minutes(t.roundMs)} vs expiry ${minutes(t.expiryMs)} (${Math.round(t.covered * 100)} %)`).join('; ')
  if (r.targets.length === 0) return 'announce coverage: nothing to announce'
  if (r.ok) return `announce coverage: every torrent stays findable at ${r.rate}/s (needs ${r.neededRate}/s): ${per}`
  return `announce coverage: only ${Math.round(r.covered * 100)} % at ${r.rate}/s: ${per}; ` +
    `--announce-rate ${Math.ceil(r.neededRate)} or --shard K/${r.neededShards} would cover every torrent`
}

function minutes (ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 6000) / 10} min` : `${Math.round(ms / 1000)} s`
}

export interface PlannerOptions extends CoverageOptions {
  /** Scale the rate with the torrent count (when the user set none): floor and cap. */
  auto?: { floor: number, cap: number } | false
  /** Recompute this often (default 60 s). */
  everyMs?: number
  clock?: Clock
}

/**
 * Keeps coverage current: recomputes on a timer, raises the scheduler's rate within the cap
 * when `auto`, and warns (once per change of state) when some torrents would go dark.
 */
export class CoveragePlanner {
  private readonly figures: CoverageFigures
  private readonly setRate: ((rate: number) => void) | undefined
  private readonly o: PlannerOptions
  private readonly clock: Clock
  private readonly warn: (code: string, message: string) => void
  private timer: unknown = null
  private last: CoverageReport | null = null
  private warnedShort = false

  constructor (figures: CoverageFigures, setRate: ((rate: number) => void) | undefined, warn: (code: string, message: string) => void, options: PlannerOptions = {}) {
    this.figures = figures
    this.setRate = setRate
    this.warn = warn
    this.o = options
    this.clock = options.clock ?? systemClock
  }

  /** Recomputes now (adjusting the rate when auto) and returns the report. */
  update (): CoverageReport {
    let report = computeCoverage(this.figures, this.o)
    if (this.o.auto && this.setRate) {
      const want = plannedRate(report, this.o.auto.floor, this.o.auto.cap)
      if (want !== report.rate) {
        this.setRate(want)
        report = computeCoverage(this.figures, this.o)
      }
    }
    this.last = report
    if (!report.ok && !this.warnedShort) {
      this.warnedShort = true
      this.warn('WARN_ANNOUNCE_COVERAGE', describeCoverage(report))
    } else if (report.ok) {
      this.warnedShort = false
    }
    return report
  }

  /** The figures now (cheap: one pass over the targets); the rate is adjusted by `update` only. */
  report (): CoverageReport {
    if (this.last === null) return this.update()
    return computeCoverage(this.figures, this.o)
  }

  start (): this {
    const every = this.o.everyMs ?? 60_000
    const tick = (): void => { this.update(); this.timer = this.clock.setTimeout(tick, every) }
    this.timer = this.clock.setTimeout(tick, every)
    return this
  }

  close (): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
  }
}
