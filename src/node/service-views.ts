/**
 * The service's parts as the public API shows them: read-only views of discovery and of the
 * web seed checker (`fish.discovery`, `fish.webSeedHealth`). The classes behind them have
 * more (their wiring to the scheduler, the dialer, the session); that is not API, so it can
 * change without breaking a program that embeds torrent-fish.
 */
import type { DiscoveryStatus } from '../discovery/discovery.ts'
import type { AnnounceResult } from '../announce/scheduler.ts'
import type { TrackerReport } from '../http/discovery-view.ts'
import type { WebSeedStatus, WebSeedState, WebSeedHealthEvents } from './web-seed-health.ts'

/** One announce target's state for one torrent. */
export interface TorrentAnnounceStatus {
  /** The target's key: a tracker URL, `dht` or `lsd`. */
  target: string
  /** When the next announce is due (ms on the service's clock). */
  due: number
  /** Consecutive failures (the backoff grows with them). */
  failures: number
  /** The last announce's result, if any. */
  last: AnnounceResult | undefined
}

/** Read-only view of announces and peer discovery. */
export interface DiscoveryView {
  /** Scheduler counters, every tracker's state, DHT, LSD, outgoing dials, embedded tracker URLs. */
  status (): DiscoveryStatus
  /** Each announce target of one torrent (empty for an unknown info hash). */
  torrentStatus (infoHash: string): TorrentAnnounceStatus[]
  /** Per tracker: its last result (what /health and /metrics show), or null before any. */
  trackerReports (): TrackerReport[] | null
}

/** Read-only view of the web seed checker, plus checks on demand. */
export interface WebSeedChecks {
  /** How often each torrent is re-checked, in ms. */
  readonly intervalMs: number
  /** Checks done so far, by result. */
  readonly checks: Record<WebSeedState, number>
  /** A torrent's last check, if it has been checked. */
  get (infoHash: string): WebSeedStatus | undefined
  /** Every torrent's last check. */
  all (): IterableIterator<WebSeedStatus>
  /** Torrents by last result (`unchecked` for those not checked yet). */
  summary (): Record<WebSeedState | 'unchecked', number>
  /** Checks every torrent now (paced like the periodic pass). */
  checkAll (): Promise<void>
  /** Checks one torrent now; undefined for an unknown info hash. */
  checkTorrent (infoHash: string): Promise<WebSeedStatus | undefined>
  /** `change` (a torrent's result changed: new, previous) and `pass` (a periodic pass finished). */
  on (event: 'change', fn: (...args: WebSeedHealthEvents['change']) => void): this
  on (event: 'pass', fn: (...args: WebSeedHealthEvents['pass']) => void): this
  once (event: 'change', fn: (...args: WebSeedHealthEvents['change']) => void): this
  once (event: 'pass', fn: (...args: WebSeedHealthEvents['pass']) => void): this
  off (event: 'change', fn: (...args: WebSeedHealthEvents['change']) => void): this
  off (event: 'pass', fn: (...args: WebSeedHealthEvents['pass']) => void): this
}
