/**
 * `/metrics` in the Prometheus text format, with prom-client and a registry of our own (never
 * the global one, so two services in one process, or an embedding app, do not collide).
 * Everything is read from the service at scrape time: the hot path counts in plain fields
 * (src/core/stats.ts) and pays nothing for metrics.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { HealthSources, TorrentCatalogue } from './host.ts'
import type { DiscoveryView } from './discovery-view.ts'
import { registerSourceMetrics } from '../sources/http-hooks.ts'
import type { HeaderGate } from './header-gate.ts'

const PREFIX = 'torrent_fish_'

/** Counters the HTTP face keeps itself. */
export interface HttpCounters {
  torrentFilesServed: number
  requests: Map<string, number>
  /** The first stage for connections still sending headers, when installed. */
  headerGate?: HeaderGate
}

export interface MetricsOptions {
  /** Also export Node process metrics (CPU, memory, event loop lag); default true. */
  processMetrics?: boolean
}

/** Sets a counter to an absolute value read from elsewhere (prom-client counters only go up). */
function setCounter (counter: Counter<string>, value: number, labels?: Record<string, string>): void {
  if (labels) counter.inc(labels, Math.max(0, value))
  else counter.inc(Math.max(0, value))
}

export function createMetrics (fish: (HealthSources & TorrentCatalogue), discovery: DiscoveryView, http: HttpCounters, options: MetricsOptions = {}): Registry {
  const registry = new Registry()
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: PREFIX })

  // One snapshot per scrape, shared by its collectors: prom-client calls every collect()
  // synchronously within one registry.metrics() call, so a microtask ends the scrape.
  let snapshot: ReturnType<(HealthSources & TorrentCatalogue)['getStats']> | null = null
  const stats = (): ReturnType<(HealthSources & TorrentCatalogue)['getStats']> => {
    if (!snapshot) {
      snapshot = fish.getStats()
      queueMicrotask(() => { snapshot = null })
    }
    return snapshot
  }

  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge<string>) => void): void => {
    // eslint-disable-next-line no-new
    new Gauge({ name: PREFIX + name, help, labelNames, registers: [registry], collect () { this.reset(); collect(this) } })
  }
  const counter = (name: string, help: string, labelNames: string[], collect: (c: Counter<string>) => void): void => {
    // eslint-disable-next-line no-new
    new Counter({ name: PREFIX + name, help, labelNames, registers: [registry], collect () { this.reset(); collect(this) } })
  }

  gauge('torrents', 'Torrents loaded.', [], g => g.set(stats().torrents))
  gauge('peers', 'Peer connections open now, by transport.', ['transport'], g => {
    for (const [transport, t] of Object.entries(stats().byTransport)) g.set({ transport }, t.peers)
  })
  counter('connections_total', 'Peer connections accepted or dialed, by transport.', ['transport'], c => {
    for (const [transport, t] of Object.entries(stats().byTransport)) setCounter(c, t.connections, { transport })
  })
  counter('metadata_pieces_served_total', 'ut_metadata data messages sent (16 KiB pieces of info dicts).', [], c => setCounter(c, stats().metadataPiecesServed))
  counter('metadata_served_total', 'Connections that received the whole info dict, by transport.', ['transport'], c => {
    for (const [transport, t] of Object.entries(stats().byTransport)) setCounter(c, t.metadataServed, { transport })
  })
  counter('metadata_bytes_served_total', 'Metadata payload bytes sent.', [], c => setCounter(c, stats().bytesServed))
  counter('metadata_rejects_total', 'ut_metadata reject messages sent.', [], c => setCounter(c, stats().metadataRejects))
  counter('piece_requests_refused_total', 'BitTorrent piece requests refused (a metadata peer holds no pieces).', [], c => setCounter(c, stats().pieceRequestsRefused))
  counter('peer_closes_total', 'Peer connections closed, by transport and reason.', ['transport', 'reason'], c => {
    for (const [transport, t] of Object.entries(stats().byTransport)) {
      for (const [reason, n] of Object.entries(t.closes)) setCounter(c, n, { transport, reason })
    }
  })
  gauge('listening', 'Transports accepting connections (1 = listening).', ['transport'], g => {
    for (const t of fish.listening()) g.set({ transport: t.name }, 1)
  })
  counter('announces_total', 'Tracker/DHT announces by result (when discovery runs).', ['result'], c => {
    for (const [result, n] of Object.entries(discovery.announces() ?? {})) setCounter(c, n, { result })
  })
  gauge('trackers', 'Trackers by state of their last announce (when discovery runs).', ['state'], g => {
    const trackers = discovery.trackers()
    if (!trackers) return
    g.set({ state: 'ok' }, trackers.filter(t => t.ok).length)
    g.set({ state: 'failing' }, trackers.filter(t => !t.ok).length)
  })
  gauge('web_seed_torrents', 'Torrents by web seed health (when checks are on).', ['status'], g => {
    const summary = fish.webSeedHealth?.summary()
    if (!summary) return
    for (const [status, n] of Object.entries(summary)) g.set({ status }, n)
  })
  counter('web_seed_checks_total', 'Web seed file checks by result.', ['result'], c => {
    const checks = fish.webSeedHealth?.checks
    if (!checks) return
    for (const [result, n] of Object.entries(checks)) setCounter(c, n, { result })
  })
  counter('torrent_files_served_total', '.torrent files served over HTTP (xs=).', [], c => setCounter(c, http.torrentFilesServed))
  counter('http_requests_total', 'HTTP requests by route and status code.', ['route', 'code'], c => {
    for (const [key, n] of http.requests) {
      const [route, code] = key.split(' ')
      setCounter(c, n, { route, code })
    }
  })
  gauge('http_connections_pending', 'HTTP connections still sending their request headers (held before node:http).', [], g => {
    if (http.headerGate) g.set(http.headerGate.pending)
  })
  gauge('http_connections_served', 'HTTP connections node:http holds (headers in, kept alive).', [], g => {
    if (http.headerGate) g.set(http.headerGate.served)
  })
  counter('http_connection_closes_total', 'HTTP connections closed by the header gate (before node:http saw them), by reason.', ['reason'], c => {
    for (const [reason, n] of http.headerGate?.closes ?? []) setCounter(c, n, { reason })
  })
  registerSourceMetrics(fish, gauge, counter)
  return registry
}
