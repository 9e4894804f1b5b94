/**
 * torrent-fish: the platform-neutral API (no transports). The Node entry (node.ts) adds the
 * service (`createTorrentFish`); the browser entry (browser.ts) adds `createBrowserPeer`.
 *
 * Only what docs/api.md documents is exported; internal modules import each other directly.
 * test/package/api-surface.test.ts pins these names: adding or removing one means updating
 * that test and docs/api.md together.
 */
import { MetadataPeer as MetadataSession } from './core/metadata-peer.ts'
import type { MetadataPeerOptions, AddTorrentOptions, MetadataPeerEvents } from './core/metadata-peer.ts'
import type { PeerConnection, ByteStream, ConnectionInfo, PeerSummary } from './core/peer-connection.ts'
import type { ParsedTorrent, TorrentRecord } from './core/torrent.ts'
import type { StatsSnapshot, TorrentCounters } from './core/stats.ts'

export type {
  MetadataPeerOptions, AddTorrentOptions, Warning, PeerClosedEvent, MetadataServedEvent, MetadataPeerEvents
} from './core/metadata-peer.ts'
export type { PeerConnection, ByteStream, ConnectionInfo, CloseInfo, PeerSummary, TransportName } from './core/peer-connection.ts'
export { parseTorrent } from './core/torrent.ts'
export type { TorrentRecord, ParsedTorrent } from './core/torrent.ts'
export type { TorrentStoreOptions, TorrentFileReader } from './core/torrent-store.ts'
export { composeMagnet, magnetWarnings } from './core/magnet.ts'
export type { MagnetOptions } from './core/magnet.ts'
export type { StatsSnapshot, TorrentCounters, TransportCounters } from './core/stats.ts'
export type { Transport, DialAddress, DialOptions, ConnectionSink } from './transport/transport.ts'
export type { ListeningAddress } from './util/parts.ts'
export { TorrentFishError, InvalidTorrentError, DuplicateTorrentError, InvalidOptionError, ClosedError } from './core/errors.ts'
/** The protocol limits and defaults, each a named constant (its reason is in its TSDoc). */
export * as limits from './core/constants.ts'

type Listener<K extends keyof MetadataPeerEvents> = (...args: MetadataPeerEvents[K]) => void

/**
 * A metadata session: it holds torrents and answers ut_metadata requests on every connection
 * handed to it, whatever carries the bytes (TCP, uTP, WebRTC, a pipe). It is the one source
 * of torrent and peer events. `createTorrentFish()` (Node) and `createBrowserPeer()` (a tab)
 * are one of these plus transports and announces; use it alone to bring your own transport.
 */
export interface MetadataPeer {
  /** Our 20-byte peer id, sent in every handshake. */
  readonly peerId: Uint8Array
  /** Whether private (BEP 27) torrents are served. */
  readonly allowPrivate: boolean
  /** True once `close()` has begun. */
  readonly closed: boolean
  /**
   * Serves a torrent from .torrent bytes or a parsed torrent. Rejects with InvalidTorrentError,
   * DuplicateTorrentError (same info hash, unless `replace`) or ClosedError.
   */
  addTorrent (input: Uint8Array | ParsedTorrent, options?: AddTorrentOptions): Promise<TorrentRecord>
  /** Stops serving a torrent; its peers close with reason `torrent-removed`. False if unknown. */
  removeTorrent (infoHash: string): boolean
  /** A served torrent by its v1 (or truncated v2) info hash. */
  getTorrent (infoHash: string): TorrentRecord | undefined
  /** Every served torrent. */
  torrents (): TorrentRecord[]
  /** One torrent's counters (zeros for an unknown one). */
  torrentStats (infoHash: string): TorrentCounters
  /** Totals, per transport, closes by reason. */
  getStats (): StatsSnapshot
  /** Open connections. */
  peers (): PeerSummary[]
  /**
   * Runs the BitTorrent session on one duplex byte stream (the seam every transport uses).
   * The connection closes itself with `{ reason, op }` (a `peer-close` event); never throws.
   */
  handleConnection (stream: ByteStream, info: ConnectionInfo): PeerConnection
  /** Emits a `warning` with a code (for a custom transport's problems). */
  warn (code: string, message: string, record?: TorrentRecord): void
  /** Emits an error as a `warning`, with its code when it has one. */
  warnError (err: unknown, source?: string): void
  on<K extends keyof MetadataPeerEvents> (event: K, fn: Listener<K>): this
  once<K extends keyof MetadataPeerEvents> (event: K, fn: Listener<K>): this
  off<K extends keyof MetadataPeerEvents> (event: K, fn: Listener<K>): this
  listenerCount<K extends keyof MetadataPeerEvents> (event: K): number
  /** Closes every connection with reason `shutdown` and refuses new ones. Safe to call twice. */
  close (): Promise<void>
}

// The class has every documented member (checked here); its events are Node's EventEmitter's
// generic overloads, which TypeScript cannot relate to the typed ones above, hence the cast.
type Assert<T extends true> = T
type ClassHasTheApi = Assert<InstanceType<typeof MetadataSession> extends Omit<MetadataPeer, 'on' | 'once' | 'off' | 'listenerCount'> ? true : false>

/** The metadata session class; `new MetadataPeer(options)` throws InvalidOptionError naming a bad option. */
export const MetadataPeer = MetadataSession as unknown as new (options?: MetadataPeerOptions) => MetadataPeer
