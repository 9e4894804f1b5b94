/**
 * What the HTTP face needs from the service it serves, declared here so http/ never imports
 * the service: a torrent catalogue (the status page, `/<infohash>.torrent`), health sources
 * (`/health`, `/metrics`) and an admin sink (`POST`/`DELETE /torrents`). The Node service
 * satisfies all three.
 */
import type { TorrentRecord, ParsedTorrent } from '../core/torrent.ts'
import type { StatsSnapshot, TorrentCounters } from '../core/stats.ts'
import type { AddTorrentOptions, MetadataPeerEvents } from '../core/metadata-peer.ts'
import type { SourcesView } from '../sources/http-hooks.ts'

/** A transport accepting connections, as /health lists it. */
export interface ListeningAddress {
  name: string
  address: string
  port: number
}

/** The loaded torrents and their counters; with sources, also other shards' torrents. */
export interface TorrentCatalogue extends SourcesView {
  getTorrent (infoHash: string): TorrentRecord | undefined
  readonly store: {
    records (): Iterable<TorrentRecord>
    torrentFile (infoHash: string): Promise<Uint8Array | undefined>
  }
  torrentStats (infoHash: string): TorrentCounters
  getStats (): StatsSnapshot
}

/** Web seed check results, when the checker runs. */
export interface WebSeedSummarySource {
  summary (): Record<string, number>
  readonly checks: Record<string, number>
  get (infoHash: string): { status: string, reason?: string, urls: Array<{ url: string }> } | undefined
}

/** What /health and /metrics report on. */
export interface HealthSources extends SourcesView {
  listening (): ListeningAddress[]
  readonly closed: boolean
  /** The service's own listeners are expected (false: a library user hands connections in itself). */
  readonly expectsListeners: boolean
  readonly webSeedHealth: WebSeedSummarySource | null
  /** Discovery state, read loosely by the discovery view (null when not running). */
  readonly discovery: object | null
}

type Listener<K extends keyof MetadataPeerEvents> = (...args: MetadataPeerEvents[K]) => void

/** Where the admin routes add and remove torrents. */
export interface AdminSink {
  getTorrent (infoHash: string): TorrentRecord | undefined
  addTorrent (input: Uint8Array | ParsedTorrent, options?: AddTorrentOptions): Promise<TorrentRecord>
  removeTorrent (infoHash: string): boolean
  on<K extends 'torrent-added' | 'warning'> (event: K, fn: Listener<K>): unknown
  off<K extends 'torrent-added' | 'warning'> (event: K, fn: Listener<K>): unknown
  readonly options: { readonly loadPath?: string, readonly watch?: boolean }
  readonly loader: { load (file: string): Promise<boolean>, unload (file: string): void, infoHashOf (file: string): string | undefined } | null
}

/** Everything the HTTP face uses. */
export interface HttpHost extends TorrentCatalogue, HealthSources, AdminSink {
  warnError (err: unknown, source?: string): void
}
