/**
 * What the HTTP face shows of sources, shards and coverage: a section of /health and a few
 * /metrics families. Kept here so src/http only calls in.
 */
import type { Counter, Gauge } from 'prom-client'
import type { SourceSet, SourcesHealth } from './source-set.ts'
import type { CoveragePlanner, CoverageReport } from './coverage.ts'

/** What the HTTP face reads of sources and coverage (src/http/host.ts includes it). */
export interface SourcesView {
  /** Torrent sources and shard filter, when `sources` is set. */
  readonly sources: Pick<SourceSet, 'health' | 'otherShardTorrent' | 'shard'> | null
  /** Announce coverage, when discovery runs. */
  readonly coverage: Pick<CoveragePlanner, 'report'> | null
}

export function sourcesHealth (fish: SourcesView): SourcesHealth | null {
  return fish.sources?.health() ?? null
}

export function coverageHealth (fish: SourcesView): CoverageReport | null {
  return fish.coverage?.report() ?? null
}

type GaugeMaker = (name: string, help: string, labelNames: string[], collect: (g: Gauge<string>) => void) => void
type CounterMaker = (name: string, help: string, labelNames: string[], collect: (c: Counter<string>) => void) => void

export function registerSourceMetrics (fish: SourcesView, gauge: GaugeMaker, counter: CounterMaker): void {
  const reports = (): SourcesHealth['sources'] => fish.sources?.health().sources ?? []
  gauge('source_up', 'Whether the last poll of each torrent source worked (1), failed (0); absent before the first.', ['source', 'kind'], g => {
    for (const r of reports()) if (r.ok !== null) g.set({ source: r.source, kind: r.kind }, r.ok ? 1 : 0)
  })
  gauge('source_torrents', 'Torrents each source provides now (all shards).', ['source'], g => {
    for (const r of reports()) g.set({ source: r.source }, r.torrents)
  })
  gauge('source_failing', 'Locations of each source whose last fetch or parse failed.', ['source'], g => {
    for (const r of reports()) g.set({ source: r.source }, r.failing)
  })
  gauge('source_last_poll_seconds', 'When each source was last polled (Unix time).', ['source'], g => {
    for (const r of reports()) if (r.lastPollAt) g.set({ source: r.source }, Math.round(r.lastPollAt / 1000))
  })
  counter('source_requests_total', 'HTTP requests made to each source, and how many were answered 304.', ['source', 'result'], c => {
    for (const r of reports()) {
      c.inc({ source: r.source, result: 'all' }, r.requests)
      c.inc({ source: r.source, result: 'not_modified' }, r.notModified)
    }
  })
  gauge('shard_other_torrents', 'Torrents the sources provide that other shards serve.', [], g => {
    if (fish.sources) g.set(fish.sources.health().otherShards)
  })
  gauge('announce_rate', 'Announces per second allowed now, and the rate that would cover every torrent.', ['kind'], g => {
    const c = fish.coverage?.report()
    if (!c) return
    g.set({ kind: 'allowed' }, c.rate)
    g.set({ kind: 'needed' }, c.neededRate)
  })
  gauge('announce_coverage_ratio', 'Share of the time a torrent stays findable at each target (round time vs expiry).', ['target', 'kind'], g => {
    for (const t of fish.coverage?.report().targets ?? []) g.set({ target: t.key, kind: t.kind }, t.covered)
  })
  gauge('announce_round_seconds', 'Time between two announces of one torrent at each target, and the target\'s expiry.', ['target', 'of'], g => {
    for (const t of fish.coverage?.report().targets ?? []) {
      g.set({ target: t.key, of: 'round' }, t.roundMs / 1000)
      g.set({ target: t.key, of: 'expiry' }, t.expiryMs / 1000)
    }
  })
}
