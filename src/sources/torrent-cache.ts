/**
 * The on-disk cache of one remote source: every fetched .torrent, named by the SHA-1 of its
 * bytes (so a replacement is a new file and a record being served never sees its bytes
 * change underneath), and index.json: per .torrent URL its validators, fingerprint, file and
 * info hash. A restart reads it back and serves at once, even with the server down. Writes go
 * to a temporary name and are renamed into place, so a crash leaves the old file or the new.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync, unlinkSync } from 'node:fs'
import path from 'node:path'

/** What the cache remembers about one .torrent URL. */
export interface CachedEntry {
  url: string
  etag?: string
  lastModified?: string
  fingerprint?: string
  /** SHA-1 of the cached bytes: the file name. */
  sha?: string
  infoHash?: string
  /** The info hash the index stated, for an entry not fetched (another shard's). */
  hint?: string
}

export interface CachedIndex {
  entries: CachedEntry[]
}

const INDEX_VERSION = 1

export class TorrentCache {
  readonly dir: string
  private readonly filesDir: string

  constructor (root: string, sourceUrl: string) {
    this.dir = path.join(root, createHash('sha1').update(sourceUrl).digest('hex').slice(0, 16))
    this.filesDir = path.join(this.dir, 'torrents')
    mkdirSync(this.filesDir, { recursive: true })
  }

  fileFor (sha: string): string {
    return path.join(this.filesDir, `${sha}.torrent`)
  }

  private writes = 0

  /** The SHA-1 of bytes: their file name. */
  static shaOf (bytes: Uint8Array): string {
    return createHash('sha1').update(bytes).digest('hex')
  }

  /**
   * Stores bytes under their SHA-1 (from `shaOf`). A file already there holds these very
   * bytes and renaming over it is harmless, so nothing checks first (a cold fill of 100k new
   * files saves 100k stat calls). Synchronous: moving the small writes to the thread pool
   * cost more CPU than it saved in bench/sources.ts on 2 cores.
   */
  put (bytes: Uint8Array, sha: string): void {
    const file = this.fileFor(sha)
    const tmp = `${file}.${process.pid}.${++this.writes}.tmp`
    try {
      writeFileSync(tmp, bytes)
      renameSync(tmp, file)
    } catch (err) {
      try { unlinkSync(tmp) } catch {}
      throw err
    }
  }

  read (sha: string): Uint8Array {
    return new Uint8Array(readFileSync(this.fileFor(sha)))
  }

  /** Deletes a cached file no entry refers to any more (missing is fine). */
  drop (sha: string): void {
    try { unlinkSync(this.fileFor(sha)) } catch {}
  }

  loadIndex (): CachedIndex | undefined {
    try {
      const doc = JSON.parse(readFileSync(path.join(this.dir, 'index.json'), 'utf8'))
      if (doc?.version !== INDEX_VERSION || !Array.isArray(doc.entries)) return undefined
      return { entries: doc.entries.filter((e: CachedEntry) => typeof e?.url === 'string') }
    } catch {
      return undefined
    }
  }

  saveIndex (index: CachedIndex): void {
    const file = path.join(this.dir, 'index.json')
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify({ version: INDEX_VERSION, ...index }))
    renameSync(tmp, file)
  }
}
