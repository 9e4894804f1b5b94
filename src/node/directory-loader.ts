/**
 * Loads every .torrent under a directory into the peer and keeps it in step while running:
 * a file added, replaced or removed takes effect without a restart. Each bad file gets one
 * warning naming it; everything else keeps serving.
 */
import { watch, statSync, type FSWatcher } from 'node:fs'
import { opendir, readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { parseTorrent } from '../core/torrent.ts'
import { DuplicateTorrentError } from '../core/errors.ts'
import { MAX_TORRENT_FILE_SIZE } from '../core/constants.ts'
import type { MetadataPeer } from '../core/metadata-peer.ts'
import { PathTable } from './path-table.ts'
import { identityOf, lineTorrent, LoadCacheReader, LoadCacheWriter, type FileIdentity } from './load-cache.ts'
import { SyncFileReader, type FileRead } from './load-file-reader.ts'
import { ReaderPool, idleNow, readersFor, parseFailure } from './load-readers.ts'
import { walkTorrentFiles, listTorrentFiles, statSyncOrNull } from './torrent-walk.ts'
import type { ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'

export type { FileRead } from './load-file-reader.ts'
import type { ParsedTorrent } from '../core/torrent.ts'

/** Editors and copies write a file in several steps; wait this long after the last event. */
/**
 * Files between two turns of the event loop during a scan: the loop reads synchronously and
 * awaits only microtasks, so without a turn a signal or a timer waits for the whole scan.
 * ~400 turns for 100k files, each a few microseconds.
 */
const TURN_EVERY = 256

const WATCH_SETTLE_MS = 150

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
   * `readersAfter` files (at most 2), else a look again every 20,000 files: a reader costs more
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

/** A file the scan read itself while readers ran: its record and identity, or why it did not load. */
type OwnRead = { parsed: ParsedTorrent, id: FileIdentity } | { err: unknown, mtimeMs: number }

const EMPTY = new Uint8Array(0)

/** A directory smaller than this loads faster than a reader process starts (~0.1 s). */
const READERS_AFTER = 1000
/** Records the scan adds per file it hands out while readers run (see scan()). */
const DRAIN_PER_FILE = 2
/** With no core free at the first look, the scan looks again after this many more files. */
const READERS_RECHECK = 20_000

export interface ScanResult {
  loaded: number
  failed: number
  ignored: number
  /** Of `loaded`, how many came from the load cache (not read); directory scans only. */
  cached?: number
  /** Reader processes the scan started (none: absent). */
  readers?: number
  /** Of `loaded` and `failed`, how many the readers read. */
  fromReaders?: number
  /** The scan was stopped before it reached every file ({@link DirectoryLoader.stopScan}). */
  stopped?: true
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
  /** undefined: decided by the idle cores (see the option). */
  private readonly readers: number | undefined
  private readonly readersAfter: number
  private readonly onReader: ((child: ChildProcess) => void) | undefined
  private readonly waitForReaders: boolean
  private readonly readerRoom: number | undefined
  /** While the initial scan runs: where each loaded file is recorded for the next start. */
  private cacheWriter: LoadCacheWriter | null = null
  /** Absolute path -> the info hash it provides and the mtime and size it loaded with (packed). */
  private readonly byPath = new PathTable()
  /** Paths whose last load failed or was a duplicate, with the mtime we saw, so we do not warn twice. */
  private readonly skipped = new Map<string, number>()
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>()
  private readonly inFlight = new Map<string, Promise<void>>()

  constructor (peer: MetadataPeer, dir: string, options: DirectoryLoaderOptions = {}) {
    this.peer = peer
    this.dir = path.resolve(dir)
    this.pin = options.pin === true
    this.cacheFile = this.pin ? undefined : options.cacheFile
    this.readers = this.pin || availableParallelism() < 2 ? 0 : options.readers
    this.readersAfter = options.readersAfter ?? READERS_AFTER
    this.onReader = options.onReader
    this.waitForReaders = options.waitForReaders === true
    this.readerRoom = options.readerRoom
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
    let ignored = 0
    // The tree is walked as it loads, one directory's names at a time, in the order of the
    // sorted full paths: no list of every path (nor of 100k Dirent objects) is built first.
    const files = walkTorrentFiles(this.dir, {
      other: file => { ignored += 1; this.peer.warn('WARN_NOT_A_TORRENT', `${file}: ignored, not a .torrent file`) },
      unreadable: (dir, message) => this.peer.warn('WARN_UNREADABLE_DIRECTORY', `${dir}: skipped, cannot read this directory (${message})`)
    })
    let loaded = 0
    let failed = 0
    let cached = 0
    const cache = this.openCache()
    this.cacheWriter = this.startCache()
    // One file at a time, synchronously, into one reused buffer. Reading ahead on the thread
    // pool (fs callbacks, 4-8 files in flight) measured 2.5x the CPU per file on a busy 2-core
    // machine (a thread hand-off per syscall) and no faster; per-file promises and buffers
    // also leave garbage that inflates the heap at 100k files.
    const reader = new SyncFileReader()
    // Without a cache every file is read: past the first few thousand, reader processes do it.
    const useReaders = cache === null && this.readers !== 0
    let idleMark = useReaders && this.readers === undefined ? idleNow(reader) : undefined
    let decideAt = this.readersAfter
    let pool: ReaderPool<OwnRead> | null = null
    /** Reader processes started. */
    let readers = 0
    let seen = 0
    let fromReaders = 0
    const take = async (p: ReaderPool<OwnRead>): Promise<void> => {
      const a = await p.next()
      if (a.line !== undefined) fromReaders += 1
      if (await (a.own !== undefined ? this.addOwn(a.full, a.own) : this.fromReader(a.full, a.line, reader))) loaded += 1
      else failed += 1
    }
    /** Files since the scan last let the event loop turn (signals, timers, readers' first lines). */
    let sinceTurn = 0
    try {
      for (const file of files) {
        if (this.scanStopped) break
        if (++sinceTurn >= TURN_EVERY) {
          sinceTurn = 0
          await new Promise(resolve => setImmediate(resolve))
          if (this.scanStopped) break
        }
        if (useReaders && pool === null && ++seen > decideAt) {
          const n = this.readers ?? readersFor(idleMark!, idleNow(reader))
          if (n > 0) {
            readers = n
            pool = new ReaderPool(this.dir, n, this.onReader, this.waitForReaders ? this.readerRoom ?? Infinity : undefined)
            if (this.waitForReaders) await pool.started()
          } else {
            // No core was free: look again later (a long scan from a cold disk leaves the cores idle).
            decideAt = this.readers === undefined ? seen + READERS_RECHECK : Infinity
            idleMark = idleNow(reader)
          }
        }
        // Until a reader has started, files are read here as before (in walk order either way).
        if (pool !== null && (pool.pending > 0 || pool.ready)) {
          if (pool.wantsPoll) await new Promise(resolve => setImmediate(resolve))
          // A file no reader has room for is read here and now, so the loader never waits
          // for a reader while it has files of its own to read; records go in in walk order.
          if (!pool.offer(file)) pool.own(file, await this.readOwn(file, reader))
          // At most two records per file handed out: a reader's answers arrive in batches, and
          // adding a whole batch before handing out more names left the reader idle meanwhile
          // (~70% of a 100k scan went to the reader this way, ~55% adding every answer at once).
          for (let n = DRAIN_PER_FILE; n > 0 && pool.headReady; n--) await take(pool)
          if (pool.full) await take(pool)
          continue
        }
        // A file the cache knows, with the same identity: one stat, no read, no hash.
        const st = cache ? statSync(file, { throwIfNoEntry: false }) : undefined
        const hit = st?.isFile() ? cache!.lookup(file, identityOf(st)) : undefined
        if (hit && await this.apply(file, hit.torrent, identityOf(st!), hit.line)) { loaded += 1; cached += 1; continue }
        if (await this.load(file, reader.read(file))) loaded += 1
        else failed += 1
      }
      if (pool !== null && !this.scanStopped) while (pool.pending > 0) await take(pool)
      cache?.drain()
      pool?.close()
      pool = null
    } finally {
      pool?.close(true)
      cache?.close()
      this.finishCache()
    }
    if (cache && (cache.bad > 0 || !cache.complete)) {
      this.peer.warn('WARN_LOAD_CACHE', `${this.cacheFile}: the load cache was ${cache.bad > 0 ? `damaged (${cache.bad} entries did not check out)` : 'cut short'}; the files it could not vouch for were read`)
    }
    this.byPath.trim()
    return { loaded, failed, ignored, cached, ...(readers > 0 ? { readers, fromReaders } : {}), ...(this.scanStopped ? { stopped: true as const } : {}) }
  }

  /** The load cache if there is a usable one; a corrupt one is warned about and not used. */
  private openCache (): LoadCacheReader | null {
    if (this.cacheFile === undefined) return null
    try {
      return LoadCacheReader.open(this.cacheFile, this.dir)
    } catch (err) {
      this.peer.warn('WARN_LOAD_CACHE', `${(err as Error).message}; reading every file instead (a new cache is written after this scan)`)
      return null
    }
  }

  private startCache (): LoadCacheWriter | null {
    if (this.cacheFile === undefined) return null
    try {
      return new LoadCacheWriter(this.cacheFile, this.dir)
    } catch (err) {
      this.cacheUnwritable(err)
      return null
    }
  }

  private finishCache (): void {
    const writer = this.cacheWriter
    this.cacheWriter = null
    if (!writer) return
    try { writer.commit() } catch (err) { writer.abort(); this.cacheUnwritable(err) }
  }

  private cacheUnwritable (err: unknown): void {
    this.peer.warn('WARN_LOAD_CACHE', `${this.cacheFile}: cannot write the load cache (${(err as Error).message}); the next start reads every file again`)
  }

  /** Records a loaded file in the cache being written (a write error ends the cache, not the scan). */
  private remember (full: string, id: FileIdentity, parsed: ParsedTorrent, line?: string): void {
    const writer = this.cacheWriter
    if (!writer) return
    try { if (line !== undefined) writer.addLine(line); else writer.add(full, id, parsed) } catch (err) { this.cacheWriter = null; writer.abort(); this.cacheUnwritable(err) }
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
      if (read && !(read instanceof Error)) this.remember(full, read.id, parsed)
      return true
    } catch (err) {
      this.failed(full, info?.mtimeMs ?? 0, err)
      return false
    }
  }

  /** Reads and parses a file the scan reads itself while readers run; added later, in walk order. */
  private async readOwn (full: string, reader: SyncFileReader): Promise<OwnRead> {
    const read = reader.read(full)
    if (read instanceof Error) return { err: read, mtimeMs: 0 }
    try {
      const parsed = await parseTorrent(read.bytes, full)
      // Views of the reused read buffer: gone by the time the record is added (never pinned here).
      parsed.infoBytes = EMPTY
      parsed.torrentBytes = EMPTY
      return { parsed, id: read.id }
    } catch (err) {
      return { err, mtimeMs: read.mtimeMs }
    }
  }

  /** Adds what {@link readOwn} found, as {@link load} would have. */
  private async addOwn (full: string, own: OwnRead): Promise<boolean> {
    if ('err' in own) { this.failed(full, own.mtimeMs, own.err); return false }
    try {
      await this.add(full, own.parsed, own.id.mtimeMs, own.id.size)
      this.remember(full, own.id, own.parsed)
      return true
    } catch (err) {
      this.failed(full, own.id.mtimeMs, err)
      return false
    }
  }

  /**
   * Adds a file as a reader process found it: its record, or its failure; a reader that died
   * or whose answer does not check out leaves the file to be read here.
   */
  private async fromReader (full: string, line: string | undefined, reader: SyncFileReader): Promise<boolean> {
    if (line !== undefined && line.charCodeAt(0) === 0x21) {
      const failure = parseFailure(line)
      if (failure) { this.failed(full, failure.mtimeMs, failure.err); return false }
    } else if (line !== undefined) {
      const got = lineTorrent(line, full)
      if (got) return this.apply(full, got.torrent, got.id, line)
    }
    return this.load(full, reader.read(full))
  }

  /** Adds a torrent from the load cache; false (and a warning) when the session refuses it. */
  private async apply (full: string, parsed: ParsedTorrent, id: FileIdentity, line: string): Promise<boolean> {
    try {
      await this.add(full, parsed, id.mtimeMs, id.size)
      this.remember(full, id, parsed, line)
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

  /**
   * Starts watching for changes: one inotify watch per directory. (Node's recursive
   * fs.watch on Linux stats every file and keeps a watcher per file: 100k torrents cost
   * ~100 MiB and seconds of start-up.)
   */
  watch (): void {
    if (this.watching) return
    this.watching = true
    void this.watchTree(this.dir)
  }

  private readonly watchers = new Map<string, FSWatcher>()
  private watching = false
  /** Watches the parent directory while the load path is gone, to notice it coming back. */
  private returnWatcher: FSWatcher | null = null

  private async watchTree (dir: string): Promise<void> {
    if (!this.watching || this.watchers.has(dir)) return
    let watcher: FSWatcher
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => this.onChange(dir, name?.toString()))
    } catch (err) {
      return this.peer.warnError(err, dir)
    }
    watcher.on('error', () => { this.unwatch(dir); if (dir === this.dir) void this.checkRoot() })
    this.watchers.set(dir, watcher)
    // Streamed, not readdir(): a directory of 1M files would be 1M Dirents and names alive at
    // once (~150 MB), promoted to V8's old space and kept there as RSS. Only subdirectories stay.
    const subdirs: string[] = []
    try {
      for await (const e of await opendir(dir, { bufferSize: 1024 })) if (e.isDirectory()) subdirs.push(e.name)
    } catch {}
    for (const name of subdirs) await this.watchTree(path.join(dir, name))
  }

  private unwatch (dir: string): void {
    for (const [d, w] of this.watchers) {
      if (d === dir || d.startsWith(dir + path.sep)) { w.close(); this.watchers.delete(d) }
    }
  }

  private onChange (dir: string, name: string | undefined): void {
    if (!name) return void this.rescan().catch(err => this.peer.warnError(err, this.dir))
    // inotify reports the removal (or move) of a watched directory as an event named after it.
    if (dir === this.dir && name === path.basename(this.dir)) void this.checkRoot()
    const full = path.join(dir, name)
    if (!full.toLowerCase().endsWith('.torrent')) {
      // A new directory: watch it and load what was copied into it before the watch began.
      void stat(full).then(st => {
        if (!st.isDirectory()) return
        void this.watchTree(full)
        void readdir(full, { recursive: true }).then(list => { for (const rel of list) this.onChange(full, String(rel)) }, () => {})
      }, () => this.unwatch(full))
      return
    }
    const t = this.timers.get(full)
    if (t) clearTimeout(t)
    this.timers.set(full, setTimeout(() => { this.timers.delete(full); void this.settle(full) }, WATCH_SETTLE_MS))
  }

  /** Applies the current state of one file; serialised per path. */
  private async settle (full: string): Promise<void> {
    const prior = this.inFlight.get(full) ?? Promise.resolve()
    const run = prior.then(async () => {
      const exists = await stat(full).then(s => s.isFile(), () => false)
      if (exists) await this.load(full)
      else this.unload(full)
    })
    const tracked = run.finally(() => { if (this.inFlight.get(full) === tracked) this.inFlight.delete(full) })
    this.inFlight.set(full, tracked)
    await tracked
  }

  /** Waits until pending watch events have been applied (for tests and shutdown). */
  async idle (): Promise<void> {
    while (this.timers.size > 0 || this.inFlight.size > 0) {
      await Promise.all([...this.inFlight.values()])
      if (this.timers.size > 0) await new Promise(resolve => setTimeout(resolve, WATCH_SETTLE_MS))
    }
  }

  /**
   * The load path may have been removed, moved or unmounted: if so, stop watching it and
   * watch its parent for its name to reappear; then watch it again and rescan, so the
   * torrents come back without a restart.
   */
  private async checkRoot (): Promise<void> {
    if (!this.watching || this.returnWatcher) return
    const there = await stat(this.dir).then(s => s.isDirectory(), () => false)
    if (there || !this.watching || this.returnWatcher) return
    this.unwatch(this.dir)
    const parent = path.dirname(this.dir)
    const base = path.basename(this.dir)
    try {
      this.returnWatcher = watch(parent, { persistent: false }, (_event, name) => {
        if (name === null || name.toString() === base) void this.rootBack()
      })
      this.returnWatcher.on('error', () => { this.returnWatcher?.close(); this.returnWatcher = null })
    } catch (err) {
      this.peer.warn('WARN_LOAD_PATH_GONE', `${this.dir}: the load path is gone and ${parent} cannot be watched for its return (${(err as Error).message}); send SIGHUP to rescan`)
      return
    }
    this.peer.warn('WARN_LOAD_PATH_GONE', `${this.dir}: the load path is gone; watching for it to come back`)
    // It may have come back between the stat and the watch.
    void this.rootBack()
  }

  private async rootBack (): Promise<void> {
    const there = await stat(this.dir).then(s => s.isDirectory(), () => false)
    if (!there || !this.returnWatcher || !this.watching) return
    this.returnWatcher.close()
    this.returnWatcher = null
    // Watch first, then rescan: files written in between are seen by one or the other.
    await this.watchTree(this.dir)
    const r = await this.rescan().catch(err => { this.peer.warnError(err, this.dir); return null })
    if (r) this.peer.warn('WARN_LOAD_PATH_BACK', `${this.dir}: the load path is back; rescanned: ${r.loaded} loaded, ${r.removed} removed, ${r.failed} failed, ${r.unchanged} unchanged`)
  }

  close (): void {
    this.returnWatcher?.close()
    this.returnWatcher = null
    this.watching = false
    for (const w of this.watchers.values()) w.close()
    this.watchers.clear()
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }
}
