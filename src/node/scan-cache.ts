/**
 * The load cache (load-cache.ts) as one directory scan uses it: the last start's cache, so
 * unchanged files load without being read, and the new one the scan writes for the next start.
 * A cache that cannot be read or written costs one warning, never the scan: without it every
 * file is read, and the next start reads every file again.
 */
import type { ParsedTorrent } from '../core/torrent.ts'
import { LoadCacheReader, LoadCacheWriter, type FileIdentity } from './load-cache.ts'

type Warn = (code: string, message: string) => void

export class ScanCache {
  /** The last start's cache if there is a usable one; a corrupt one is warned about and not used. */
  readonly previous: LoadCacheReader | null
  /** While the scan runs: where each loaded file is recorded for the next start. */
  private writer: LoadCacheWriter | null
  private readonly file: string | undefined
  private readonly warn: Warn

  /** `file` undefined: no load cache (pinned torrents, or none asked for); every call is a no-op. */
  constructor (file: string | undefined, dir: string, warn: Warn) {
    this.file = file
    this.warn = warn
    this.previous = this.open(dir)
    this.writer = this.start(dir)
  }

  private open (dir: string): LoadCacheReader | null {
    if (this.file === undefined) return null
    try {
      return LoadCacheReader.open(this.file, dir)
    } catch (err) {
      this.warn('WARN_LOAD_CACHE', `${(err as Error).message}; reading every file instead (a new cache is written after this scan)`)
      return null
    }
  }

  private start (dir: string): LoadCacheWriter | null {
    if (this.file === undefined) return null
    try {
      return new LoadCacheWriter(this.file, dir)
    } catch (err) {
      this.unwritable(err)
      return null
    }
  }

  /** Records a loaded file in the cache being written (a write error ends the cache, not the scan). */
  remember (full: string, id: FileIdentity, parsed: ParsedTorrent, line?: string): void {
    const writer = this.writer
    if (!writer) return
    try { if (line !== undefined) writer.addLine(line); else writer.add(full, id, parsed) } catch (err) { this.writer = null; writer.abort(); this.unwritable(err) }
  }

  /** Closes the last start's cache and commits the new one (what the scan reached, if it was stopped). */
  finish (): void {
    this.previous?.close()
    const writer = this.writer
    this.writer = null
    if (!writer) return
    try { writer.commit() } catch (err) { writer.abort(); this.unwritable(err) }
  }

  /** After the scan: says so when the last start's cache could not vouch for every file (they were read). */
  warnIfIncomplete (): void {
    const cache = this.previous
    if (cache && (cache.bad > 0 || !cache.complete)) {
      this.warn('WARN_LOAD_CACHE', `${this.file}: the load cache was ${cache.bad > 0 ? `damaged (${cache.bad} entries did not check out)` : 'cut short'}; the files it could not vouch for were read`)
    }
  }

  private unwritable (err: unknown): void {
    this.warn('WARN_LOAD_CACHE', `${this.file}: cannot write the load cache (${(err as Error).message}); the next start reads every file again`)
  }
}
