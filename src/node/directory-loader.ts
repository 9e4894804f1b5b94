/**
 * Loads every .torrent under a directory into the peer and keeps it in step while running:
 * a file added, replaced or removed takes effect without a restart. Each bad file gets one
 * warning naming it; everything else keeps serving.
 *
 * This file holds the loaded set (which file provides which torrent, which failed) and the
 * rescan; the first scan is directory-scan.ts (with the load cache of scan-cache.ts and the
 * reader processes of reader-handoff.ts), the watch directory-watch.ts.
 */
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { parseTorrent, type ParsedTorrent } from '../core/torrent.ts'
import { DuplicateTorrentError } from '../core/errors.ts'
import { MAX_TORRENT_FILE_SIZE } from '../core/constants.ts'
import type { MetadataPeer } from '../core/metadata-peer.ts'
import { PathTable } from './path-table.ts'
import type { FileIdentity } from './load-cache.ts'
import { SyncFileReader, type FileRead } from './load-file-reader.ts'
import { listTorrentFiles, statSyncOrNull } from './torrent-walk.ts'
import { READERS_AFTER, type ReaderSettings } from './reader-handoff.ts'
import { ScanCache } from './scan-cache.ts'
import { scanDirectory, type ScanResult, type ScanTarget } from './directory-scan.ts'
import { DirectoryWatcher } from './directory-watch.ts'
import type { ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'

export type { FileRead } from './load-file-reader.ts'
export type { ScanResult } from './directory-scan.ts'

export interface DirectoryLoaderOptions {
  /** Keep .torrent bytes in memory instead of re-reading files on demand. */
  pin?: boolean
  /**
   * The load cache (load-cache.ts): unchanged files load from it without being read, and the
   * initial scan writes it anew. Not used with `pin` (pinning needs the bytes).
   */
  cacheFile?: string
  /**
   * Reader processes for a scan without a usable load cache (load-readers.ts): files are read,
   * parsed and hashed in them while this process adds what they found. 0 reads everything in
   * process. Default: as many as the cores that sat idle while the scan read its first
   * `readersAfter` files (at most 2), else a look again every 2,000 files: a reader costs more
   * CPU per file than reading here and only pays when a core is free (docs/benchmarks.md).
   * Not used with `pin`.
   */
  readers?: number
  /** Files a scan reads in process before it starts the readers (a small directory never does). */
  readersAfter?: number
  /** Sees each reader process as it starts (tests). */
  onReader?: (child: ChildProcess) => void
  /**
   * Wait for the readers to start instead of reading files here meanwhile, and hand the readers
   * every file after `readersAfter` however far behind they are, so what they read does not
   * depend on timing (tests).
   */
  waitForReaders?: boolean
  /** With `waitForReaders`: files a reader may have unanswered before the scan reads the next itself (tests; default: no limit). */
  readerRoom?: number
}

/** What a rescan changed: files (re)loaded, torrents whose file is gone, files unchanged since the last look. */
export interface RescanResult {
  loaded: number
  removed: number
  failed: number
  unchanged: number
  /** The load path itself was missing: nothing was removed, what was loaded keeps serving. */
  missing: boolean
}

export class DirectoryLoader {
  readonly dir: string
  private readonly peer: MetadataPeer
  private readonly pin: boolean
  private readonly cacheFile: string | undefined
  private readonly readerSettings: ReaderSettings
  /** While the initial scan runs: its load cache, where each loaded file is recorded for the next start. */
  private scanCache: ScanCache | null = null
  /** Absolute path -> the info hash it provides and the mtime and size it loaded with (packed). */
  private readonly byPath = new PathTable()
  /** Paths whose last load failed or was a duplicate, with the mtime we saw, so we do not warn twice. */
  private readonly skipped = new Map<string, number>()
  private readonly watcher: DirectoryWatcher

  constructor (peer: MetadataPeer, dir: string, options: DirectoryLoaderOptions = {}) {
    this.peer = peer
    this.dir = path.resolve(dir)
    this.pin = options.pin === true
    this.cacheFile = this.pin ? undefined : options.cacheFile
    this.readerSettings = {
      dir: this.dir,
      readers: this.pin || availableParallelism() < 2 ? 0 : options.readers,
      readersAfter: options.readersAfter ?? READERS_AFTER,
      onReader: options.onReader,
      waitForReaders: options.waitForReaders === true,
      readerRoom: options.readerRoom
    }
    this.watcher = new DirectoryWatcher(this.dir, this, peer)
  }

  /** The info hash a file provides, if it is loaded. */
  infoHashOf (file: string): string | undefined {
    return this.byPath.infoHash(path.resolve(file))
  }

  /** Bytes the loader's per-file table holds (for the memory figures). */
  get tableBytes (): number { return this.byPath.bytes }

  /**
   * Ends a scan in progress at the next file: a service told to stop (SIGTERM from a supervisor)
   * while its first scan of a large cold directory runs would otherwise stop only when every
   * file has been read, minutes later at 100k files from a slow disk, long after a supervisor's
   * stop timeout. What was loaded stays loaded; the load cache is written for the files the scan
   * reached, and the next start reads the others (the cache vouches for no file it lacks).
   */
  stopScan (): void {
    this.scanStopped = true
  }

  private scanStopped = false

  /** Reads the whole directory (recursively). */
  async scan (): Promise<ScanResult> {
    const target: ScanTarget = {
      load: (full, read) => this.load(full, read),
      apply: (full, parsed, id, line) => this.apply(full, parsed, id, line),
      failed: (full, mtimeMs, err) => this.failed(full, mtimeMs, err),
      warn: (code, message) => this.peer.warn(code, message),
      stopped: () => this.scanStopped
    }
    const cache = new ScanCache(this.cacheFile, this.dir, target.warn)
    this.scanCache = cache
    let result: ScanResult
    try {
      result = await scanDirectory(target, cache, this.readerSettings)
    } finally {
      // The scan has finished the cache (nothing more is recorded); dropped so the last
      // start's cache is not kept alive with the loader.
      this.scanCache = null
    }
    this.byPath.trim()
    return result
  }

  /**
   * Brings the loaded set in line with the directory as it is now (SIGHUP, or the load path
   * coming back): new and changed files are loaded, torrents whose file is gone are removed,
   * unchanged files (same mtime and size) are left alone. A missing load path is warned about
   * and changes nothing, so an unmounted directory does not take every torrent down.
   */
  async rescan (): Promise<RescanResult> {
    const result: RescanResult = { loaded: 0, removed: 0, failed: 0, unchanged: 0, missing: false }
    let listing: ReturnType<typeof listTorrentFiles>
    try {
      listing = listTorrentFiles(this.dir)
    } catch (err) {
      result.missing = true
      this.peer.warn('WARN_LOAD_PATH_MISSING', `${this.dir}: cannot rescan the load path (${(err as Error).message}); the ${this.byPath.size} loaded torrents keep serving`)
      return result
    }
    const present = new Set(listing.files)
    // Torrents under a directory we could not read this time stay: unreadable is not removed.
    const unreadable = listing.unreadable.map(u => u.dir + path.sep)
    for (const { dir, message } of listing.unreadable) this.peer.warn('WARN_UNREADABLE_DIRECTORY', `${dir}: skipped, cannot read this directory (${message})`)
    for (const file of [...this.byPath.paths()]) {
      if (!present.has(file) && !unreadable.some(d => file.startsWith(d))) { this.unload(file); result.removed += 1 }
    }
    for (const file of [...this.skipped.keys()]) if (!present.has(file)) this.skipped.delete(file)
    listing.files.sort()
    const changed: string[] = []
    for (const file of listing.files) {
      const st = statSyncOrNull(file)
      if (st && this.byPath.unchanged(file, st.mtimeMs, st.size)) result.unchanged += 1
      else changed.push(file)
    }
    const reader = new SyncFileReader()
    for (const file of changed) {
      if (await this.load(file, reader.read(file))) result.loaded += 1
      else result.failed += 1
    }
    return result
  }

  /**
   * Loads or reloads one file; returns whether it is now served. `read` is the file as the
   * scan read it (its bytes valid until the next read), else it is read here.
   */
  async load (file: string, read?: FileRead | Error): Promise<boolean> {
    const full = path.isAbsolute(file) ? file : path.resolve(file)
    let info: { mtimeMs: number } | undefined
    try {
      let bytes: Uint8Array
      if (read instanceof Error) throw read
      if (read) {
        info = read
        bytes = read.bytes
      } else {
        const st = await stat(full)
        info = st
        if (!st.isFile()) throw new Error('not a regular file')
        // Loaded from these very bytes already (a watch event after a rescan, a touch without
        // a change of size or mtime): reloading would only drop its connections.
        if (this.byPath.unchanged(full, st.mtimeMs, st.size)) return true
        if (st.size > MAX_TORRENT_FILE_SIZE) throw new Error(`file is ${st.size} bytes, above the ${MAX_TORRENT_FILE_SIZE}-byte cap`)
        bytes = new Uint8Array(await readFile(full))
      }
      // With a shared read buffer the torrent must be pinned from a copy or not at all;
      // the store copies pinned bytes and keeps no view of unpinned ones.
      const parsed = await parseTorrent(bytes, full)
      await this.add(full, parsed, info.mtimeMs, bytes.length)
      if (read && !(read instanceof Error)) this.scanCache?.remember(full, read.id, parsed)
      return true
    } catch (err) {
      this.failed(full, info?.mtimeMs ?? 0, err)
      return false
    }
  }

  /**
   * Adds a torrent already parsed (from the load cache, a reader process or the scan's own read);
   * false (and a warning) when the session refuses it.
   */
  private async apply (full: string, parsed: ParsedTorrent, id: FileIdentity, line?: string): Promise<boolean> {
    try {
      await this.add(full, parsed, id.mtimeMs, id.size)
      this.scanCache?.remember(full, id, parsed, line)
      return true
    } catch (err) {
      this.failed(full, id.mtimeMs, err)
      return false
    }
  }

  private async add (full: string, parsed: ParsedTorrent, mtimeMs: number, size: number): Promise<void> {
    const previous = this.byPath.infoHash(full)
    if (previous === parsed.infoHash) {
      // Same torrent rewritten (maybe with other trackers or web seeds): replace the record.
      await this.peer.addTorrent(parsed, { pin: this.pin, replace: true })
    } else {
      await this.peer.addTorrent(parsed, { pin: this.pin })
      if (previous) this.peer.removeTorrent(previous)
    }
    this.byPath.set(full, parsed.infoHash, mtimeMs, size)
    if (this.skipped.size > 0) this.skipped.delete(full)
  }

  /** One warning per file and mtime for a file that did not load. */
  private failed (full: string, mtime: number, err: unknown): void {
    if (this.skipped.get(full) === mtime) return
    this.skipped.set(full, mtime)
    const message = err instanceof DuplicateTorrentError || (err as Error).message.startsWith(full)
      ? (err as Error).message
      : `${full}: ${(err as Error).message}`
    this.peer.warnError(Object.assign(err instanceof Error ? err : new Error(String(err)), { message }), full)
  }

  /** Forgets a file that disappeared and removes its torrent. */
  unload (file: string): void {
    const full = path.resolve(file)
    this.skipped.delete(full)
    const infoHash = this.byPath.infoHash(full)
    if (infoHash === undefined) return
    this.byPath.delete(full)
    this.peer.removeTorrent(infoHash)
  }

  /** Starts watching for changes (directory-watch.ts). */
  watch (): void {
    this.watcher.watch()
  }

  /** Waits until pending watch events have been applied (for tests and shutdown). */
  async idle (): Promise<void> {
    await this.watcher.idle()
  }

  close (): void {
    this.watcher.close()
  }
}
