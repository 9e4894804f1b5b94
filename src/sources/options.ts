/** Options of torrent sources and shards (`-l` URLs and directories, `--poll-interval`, `--shard`). */
import type { Shard } from './shard.ts'
import type { RemoteSourceOptions } from './remote-source.ts'
import type { Clock } from './clock.ts'

export interface SourcesOptions extends Partial<Omit<RemoteSourceOptions, 'clock' | 'cacheDir' | 'gates'>> {
  /** Local directories and http(s) URLs (listing, feed, manifest), in any mix. */
  locations: string[]
  /** Serve only this shard's torrents (rendezvous hashing over info hashes). */
  shard?: Shard
  /** Where fetched .torrent files are cached (default `<stateDir>/sources`, else a temporary directory). */
  cacheDir?: string
  /** Watch local directories for changes (default true). */
  watch?: boolean
  clock?: Clock
}
