/**
 * The hooks a Node torrent-fish calls: `startSources` builds a source per `-l` location
 * (http(s) URLs are remote sources, anything else a local directory), applies them through a
 * SourceSet filtered to the shard, and registers its close; `attachCoverage` plans announce
 * coverage over the discovery scheduler.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TorrentFish } from '../node/torrent-fish.ts'
import type { ScanResult } from '../node/directory-loader.ts'
import { InvalidOptionError } from '../core/errors.ts'
import { DirectorySource } from './directory-source.ts'
import { RemoteSource } from './remote-source.ts'
import { SourceSet } from './source-set.ts'
import { CoveragePlanner, describeCoverage } from './coverage.ts'
import type { SourcesOptions } from './options.ts'
import { owns } from './shard.ts'

export function isRemoteLocation (location: string): boolean {
  return /^https?:\/\//i.test(location)
}

export async function startSources (fish: TorrentFish, options: SourcesOptions, stateDir?: string): Promise<{ set: SourceSet, scan: ScanResult }> {
  if (options.shard && !(options.shard.index >= 1 && options.shard.index <= options.shard.count)) {
    throw new InvalidOptionError('sources.shard', `shard ${options.shard.index}/${options.shard.count} is out of range`)
  }
  let cacheDir = options.cacheDir ?? (stateDir ? path.join(stateDir, 'sources') : undefined)
  if (cacheDir === undefined && options.locations.some(isRemoteLocation)) {
    // No state directory: a cache for this run only, removed on close.
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'torrent-fish-sources-'))
    cacheDir = tmp
    fish.register(() => rmSync(tmp, { recursive: true, force: true }))
  }
  const set = new SourceSet(fish, options.shard)
  for (const location of options.locations) {
    if (isRemoteLocation(location)) {
      let url: URL
      try { url = new URL(location) } catch { throw new InvalidOptionError('sources.locations', `not a URL: "${location}"`) }
      const shard = options.shard
      set.add(new RemoteSource(url.href, { ...options, cacheDir: cacheDir!, settled: () => set.idle(), ...(shard ? { wanted: (h: string) => owns(shard, h) } : {}) }))
    } else {
      set.add(new DirectorySource(location, {
        watch: options.watch,
        warn: (code, message, record) => fish.warn(code, message, record),
        warnError: (err, source) => fish.warnError(err, source),
        settled: () => set.idle()
      }))
    }
  }
  set.on('warning', w => fish.warn(w.code, w.message))
  fish.register(() => set.close())
  await set.start()
  const health = set.health()
  const failed = health.sources.reduce((n, s) => n + s.failing, 0)
  return { set, scan: { loaded: fish.store.size, failed, ignored: 0 } }
}

/** Announce rate chosen when none is given: at least this, raised with the torrent count up to the cap. */
export const AUTO_RATE = { floor: 50, cap: 200 }

export function attachCoverage (fish: TorrentFish, options: { auto: boolean, shards?: number, dhtExpiryMs?: number, everyMs?: number }): CoveragePlanner | null {
  const discovery = fish.discovery
  if (!discovery) return null
  const scheduler = discovery.scheduler
  const planner = new CoveragePlanner(
    {
      get rate () { return scheduler.rate },
      targets: () => scheduler.targetStatus().map(t => ({ key: t.key, jobs: t.jobs + t.inFlight, intervalMs: t.intervalMs }))
    },
    rate => scheduler.setRate(rate),
    (code, message) => fish.warn(code, message),
    { auto: options.auto ? AUTO_RATE : false, shards: options.shards, dhtExpiryMs: options.dhtExpiryMs, everyMs: options.everyMs }
  )
  planner.update()
  planner.start()
  // Remote sources load after start: plan again as each poll brings torrents.
  fish.sources?.on('poll', () => planner.update())
  fish.register(() => planner.close())
  return planner
}

export { describeCoverage }
