/**
 * The two parts a Node torrent-fish adds for sources (see docs/architecture.md):
 *
 * - `sourcesPart` (first, in place of the directory scan) builds a source per `-l` location
 *   (http(s) URLs are remote sources, anything else a local directory), applies them to the
 *   session through a SourceSet filtered to the shard, and waits for the first scan or poll;
 * - `coveragePart` (right after discovery) plans announce coverage over the scheduler and,
 *   without an explicit `--announce-rate`, raises the rate with the torrent count.
 *
 * Each gets narrow interfaces (./host.ts), never the service.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ScanResult } from '../node/directory-loader.ts'
import { InvalidOptionError } from '../core/errors.ts'
import { AUTO_RATE } from '../announce/scheduler.ts'
import type { Part } from '../util/parts.ts'
import { DirectorySource } from './directory-source.ts'
import { RemoteSource } from './remote-source.ts'
import { GatePool } from './gate.ts'
import { SourceSet } from './source-set.ts'
import { CoveragePlanner, describeCoverage } from './coverage.ts'
import type { SourcesOptions } from './options.ts'
import type { CoverageScheduler, SourceHost } from './host.ts'
import { owns } from './shard.ts'

export function isRemoteLocation (location: string): boolean {
  return /^https?:\/\//i.test(location)
}

/** Checks the shard before anything starts (a bad `--shard` fails at construction). */
export function checkSourcesOptions (options: SourcesOptions): void {
  if (options.shard && !(options.shard.index >= 1 && options.shard.index <= options.shard.count)) {
    throw new InvalidOptionError('sources.shard', `shard ${options.shard.index}/${options.shard.count} is out of range`)
  }
  for (const key of ['concurrency', 'rate'] as const) {
    const v = options[key]
    if (v !== undefined && !(typeof v === 'number' && v >= 1 && Number.isFinite(v))) throw new InvalidOptionError(`sources.${key}`, `must be a number of at least 1, got ${String(v)}`)
  }
  if (options.checkpointMs !== undefined && !(options.checkpointMs >= 0)) throw new InvalidOptionError('sources.checkpointMs', `must be 0 or more, got ${String(options.checkpointMs)}`)
  for (const location of options.locations) {
    if (isRemoteLocation(location) && !URL.canParse(location)) throw new InvalidOptionError('sources.locations', `not a URL: "${location}"`)
  }
}

export interface SourcesPart extends Part {
  /** The sources and shard filter (after start). */
  readonly set: SourceSet | null
  /** What the first scans and polls loaded (after start). */
  readonly scan: ScanResult | null
}

/** The sources as a part of the service: started first, closed last. */
export function sourcesPart (host: SourceHost, options: SourcesOptions, stateDir?: string): SourcesPart {
  checkSourcesOptions(options)
  let set: SourceSet | null = null
  let scan: ScanResult | null = null
  let tmp: string | null = null
  // One gate per origin for every remote source of this instance (a listing and a feed on one server share it).
  const gates = new GatePool({ concurrency: options.concurrency, rate: options.rate, clock: options.clock })
  return {
    name: 'sources',
    get set () { return set },
    get scan () { return scan },
    async start () {
      let cacheDir = options.cacheDir ?? (stateDir ? path.join(stateDir, 'sources') : undefined)
      if (cacheDir === undefined && options.locations.some(isRemoteLocation)) {
        // No state directory: a cache for this run only, removed on close.
        cacheDir = tmp = mkdtempSync(path.join(os.tmpdir(), 'torrent-fish-sources-'))
      }
      const s = set = new SourceSet(host, options.shard)
      for (const location of options.locations) {
        if (isRemoteLocation(location)) {
          const shard = options.shard
          s.add(new RemoteSource(new URL(location).href, { ...options, cacheDir: cacheDir!, gates, settled: () => s.idle(), ...(shard ? { wanted: (h: string) => owns(shard, h) } : {}) }))
        } else {
          s.add(new DirectorySource(location, {
            watch: options.watch,
            warn: (code, message, record) => host.warn(code, message, record),
            warnError: (err, source) => host.warnError(err, source),
            settled: () => s.idle()
          }))
        }
      }
      s.on('warning', w => host.warn(w.code, w.message))
      await s.start()
      const failed = s.health().sources.reduce((n, r) => n + r.failing, 0)
      scan = { loaded: host.store.size, failed, ignored: 0 }
    },
    async close () {
      await set?.close()
      gates.close()
      if (tmp) rmSync(tmp, { recursive: true, force: true })
      tmp = null
    },
    status () { return set?.health() ?? null }
  }
}

export interface CoveragePart extends Part {
  /** The planner (after start; null when discovery has no scheduler). */
  readonly planner: CoveragePlanner | null
}

/**
 * Announce coverage as a part, after discovery: `scheduler` and `sources` are read at start.
 * `auto`: no rate was given, so the planner sets it between AUTO_RATE's floor and cap.
 */
export function coveragePart (deps: { scheduler: () => CoverageScheduler | null, sources: () => SourceSet | null, warn: (code: string, message: string) => void }, options: { auto: boolean, shards?: number, dhtExpiryMs?: number, everyMs?: number }): CoveragePart {
  let planner: CoveragePlanner | null = null
  return {
    name: 'coverage',
    get planner () { return planner },
    start () {
      const scheduler = deps.scheduler()
      if (!scheduler) return
      const p = planner = new CoveragePlanner(
        {
          get rate () { return scheduler.rate },
          targets: () => scheduler.targetStatus().map(t => ({ key: t.key, jobs: t.jobs + t.inFlight, intervalMs: t.intervalMs }))
        },
        rate => scheduler.setRate(rate),
        deps.warn,
        { auto: options.auto ? AUTO_RATE : false, shards: options.shards, dhtExpiryMs: options.dhtExpiryMs, everyMs: options.everyMs }
      )
      p.update()
      p.start()
      // Remote sources keep loading after start: plan again as each poll brings torrents.
      deps.sources()?.on('poll', () => p.update())
    },
    close () { planner?.close() },
    status () { return planner?.report() ?? null }
  }
}

export { describeCoverage, AUTO_RATE }
