/**
 * What the sources need from the service they feed, declared here so src/sources never
 * imports the service: the metadata session's add/remove and warnings. The Node service hands
 * in its session (MetadataPeer satisfies this).
 */
import type { AddTorrentOptions } from '../core/metadata-peer.ts'
import type { ParsedTorrent, TorrentRecord } from '../core/torrent.ts'

export interface SourceHost {
  readonly closed: boolean
  readonly store: { has (infoHash: string): boolean, readonly size: number }
  addTorrent (input: ParsedTorrent, options?: AddTorrentOptions): Promise<TorrentRecord>
  removeTorrent (infoHash: string): boolean
  warn (code: string, message: string, record?: TorrentRecord): void
  warnError (err: unknown, source?: string): void
}

/** The announce scheduler as coverage planning sees it (src/announce/scheduler.ts). */
export interface CoverageScheduler {
  readonly rate: number
  setRate (rate: number): void
  targetStatus (): Array<{ key: string, jobs: number, inFlight: number, intervalMs: number }>
}
