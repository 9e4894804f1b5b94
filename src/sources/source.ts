/**
 * The one interface every torrent source fits: a local directory, a web directory listing, a
 * feed, a manifest. A source tells what it holds through three events, keyed by the torrent's
 * location (a file path or a .torrent URL):
 *
 * - `added`: a location now provides a torrent;
 * - `replaced`: the same location now has other bytes (maybe another info hash);
 * - `removed`: the location is gone.
 *
 * A source never removes a torrent because it could not reach its server: failures are
 * `warning`s and its `report()` says so, while the last good set stays. `parsed.source` is
 * a local file holding exactly the bytes parsed (the file itself, or the on-disk cache of a
 * fetched one), so the store re-reads it on demand and serves it byte-exact.
 */
import type { EventEmitter } from 'node:events'
import type { ParsedTorrent } from '../core/torrent.ts'

export interface SourceTorrent {
  /** The file path or .torrent URL that provides it. */
  location: string
  parsed: ParsedTorrent
}

/** The last result of a source, for /health, /metrics and the log. */
export interface SourceReport {
  /** The path or URL given with `-l`. */
  source: string
  kind: 'directory' | 'listing' | 'feed' | 'manifest'
  /** Whether the last poll (or scan) worked; null before the first. */
  ok: boolean | null
  /** When the last poll finished (ms since the epoch). */
  lastPollAt?: number
  lastOkAt?: number
  /** Why the last poll failed. */
  error?: string
  /** Torrents the source provides now. */
  torrents: number
  /** Locations listed whose last fetch failed or that did not parse. */
  failing: number
  polls: number
  requests: number
  /** Conditional requests answered 304. */
  notModified: number
  /** Torrents served from the on-disk cache at start. */
  fromCache?: number
  /** Listed .torrent URLs not fetched yet (a cold first fill in progress; remote sources). */
  pending?: number
  nextPollAt?: number
}

export interface SourceWarning {
  code: string
  message: string
  /** The URL or path at fault. */
  location: string
}

export interface SourceEvents {
  added: [SourceTorrent]
  replaced: [SourceTorrent, previousInfoHash: string]
  removed: [location: string, infoHash: string]
  /**
   * A location whose info hash the index states (a JSON manifest's `infoHash`) and that this
   * instance does not fetch (another shard's): known, not served. `removed` ends it too.
   */
  known: [location: string, infoHash: string]
  warning: [SourceWarning]
  /** A poll (or scan) finished, well or not. */
  poll: [SourceReport]
}

export interface TorrentSource extends EventEmitter<SourceEvents> {
  /** The path or URL it was made from. */
  readonly id: string
  /** Loads what is known at once (a directory scan, the cache), then keeps in step until closed. */
  start (): Promise<void>
  report (): SourceReport
  /** The local file holding a location's bytes now, if any (a directory's file, a cached fetch). */
  fileOf (location: string): string | undefined
  close (): Promise<void> | void
}
