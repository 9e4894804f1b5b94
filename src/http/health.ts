/**
 * `/health`: one JSON document for load balancers and operators. `ready` is false (and the
 * status 503) when a peer listener that was up at start is down, or none is listening: a
 * metadata peer nobody can connect to serves nobody, even if this HTTP server still answers.
 */
import type { HealthSources, TorrentCatalogue } from './host.ts'
import type { DiscoveryView, TrackerReport } from './discovery-view.ts'
import { sourcesHealth, coverageHealth } from '../sources/http-hooks.ts'
import type { SourcesHealth } from '../sources/source-set.ts'
import type { CoverageReport } from '../sources/coverage.ts'

export interface HealthReport {
  ready: boolean
  /** Why not ready, when it is not. */
  reason?: string
  torrents: number
  peers: number
  uptimeSeconds: number
  /** Peer transports accepting connections (the HTTP server itself is listed apart). */
  transports: Array<{ name: string, address: string, port: number }>
  http: { address: string, port: number } | null
  /** Trackers with their last result; null when discovery is not running. */
  trackers: { reachable: number, failing: number, list: TrackerReport[] } | null
  /** Torrents by web seed health; null when checks are off. */
  webSeeds: Record<string, number> | null
  /** Torrent sources with their last poll, and the shard; null without `sources`. */
  sources: SourcesHealth | null
  /** Announce coverage (round time per target vs its expiry); null without discovery. */
  coverage: CoverageReport | null
}

/** Transports other than this HTTP server, which reports itself through `listening()` too. */
export const HTTP_TRANSPORT_NAME = 'http'

/**
 * Transports whose absence does not make the service unready: WebRTC is reachable only while
 * outside WebSocket trackers are, and a tracker outage must not pull the node out of a pool.
 */
const NOT_REQUIRED = new Set([HTTP_TRANSPORT_NAME, 'webrtc'])

/** The socket listeners up now, which `/health` then requires to stay up. */
export function requiredTransports (fish: (HealthSources & TorrentCatalogue)): Set<string> {
  return new Set(fish.listening().map(t => t.name).filter(name => !NOT_REQUIRED.has(name)))
}

/** Trackers listed in full up to this many; beyond, only the counts (keeps the document small). */
const MAX_TRACKERS_LISTED = 100

export function healthReport (fish: (HealthSources & TorrentCatalogue), discovery: DiscoveryView, startedAt: number, required: Set<string> = new Set()): HealthReport {
  const listening = fish.listening()
  const transports = listening.filter(t => t.name !== HTTP_TRANSPORT_NAME)
  const http = listening.find(t => t.name === HTTP_TRANSPORT_NAME)
  // A library user may run without our listeners and hand connections in itself.
  const needsListener = fish.expectsListeners
  const down = [...required].filter(name => !transports.some(t => t.name === name))
  let reason: string | undefined
  if (fish.closed) reason = 'torrent-fish is closed'
  else if (needsListener && transports.length === 0) reason = 'no peer transport is listening'
  else if (down.length > 0) reason = `${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} no longer listening`
  const trackers = discovery.trackers()
  const stats = fish.getStats()
  return {
    ready: reason === undefined,
    ...(reason ? { reason } : {}),
    torrents: stats.torrents,
    peers: Object.values(stats.byTransport).reduce((n, t) => n + t.peers, 0),
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    transports,
    http: http ? { address: http.address, port: http.port } : null,
    trackers: trackers
      ? { reachable: trackers.filter(t => t.ok).length, failing: trackers.filter(t => !t.ok).length, list: trackers.slice(0, MAX_TRACKERS_LISTED) }
      : null,
    webSeeds: fish.webSeedHealth?.summary() ?? null,
    sources: sourcesHealth(fish),
    coverage: coverageHealth(fish)
  }
}
