/**
 * A first scan's hand-off to reader processes (load-readers.ts), for a scan without a usable
 * load cache: when to start them (by the cores left idle while the scan read its first files),
 * handing each file of the walk to a reader or reading it here when none has room, and adding
 * what came back in walk order. The walk itself, the load cache and the stop are the scan's
 * (directory-scan.ts); this file only decides who reads a file and takes the answers.
 */
import { parseTorrent, type ParsedTorrent } from '../core/torrent.ts'
import type { ChildProcess } from 'node:child_process'
import { lineTorrent, type FileIdentity } from './load-cache.ts'
import type { FileRead, SyncFileReader } from './load-file-reader.ts'
import { ReaderPool, idleNow, readersFor, parseFailure, type IdleMark } from './load-readers.ts'

/** A directory smaller than this loads faster than a reader process starts (~0.1 s). */
export const READERS_AFTER = 1000
/** Records the scan adds per file it hands out while readers run (see handOut()). */
const DRAIN_PER_FILE = 2
/**
 * With no core free at the first look, the scan looks again after this many more files (a look
 * is one read of /proc/stat). The first look, ~0.3 s into a scan, often sees the other core
 * busy with V8's own compiler and GC threads; at 20,000 a miss cost a 100k first start ~1.5 s.
 */
const READERS_RECHECK = 2_000

const EMPTY = new Uint8Array(0)

/** The loaded set as a scan adds to it (the directory loader's). */
export interface LoadedSet {
  /** Loads one file from the scan's read of it (its bytes valid until the next read); whether it is served. */
  load (full: string, read: FileRead | Error): Promise<boolean>
  /** Adds a torrent already parsed (`line`: its load-cache line, if it came as one); whether it is served. */
  apply (full: string, parsed: ParsedTorrent, id: FileIdentity, line?: string): Promise<boolean>
  /** A file that did not load: one warning per file and mtime. */
  failed (full: string, mtimeMs: number, err: unknown): void
}

/** The reader options as the directory loader resolved them (DirectoryLoaderOptions says what each means). */
export interface ReaderSettings {
  /** The load path: reader processes get names relative to it. */
  readonly dir: string
  /** undefined: decided by the idle cores. */
  readonly readers: number | undefined
  readonly readersAfter: number
  readonly onReader: ((child: ChildProcess) => void) | undefined
  readonly waitForReaders: boolean
  readonly readerRoom: number | undefined
}

/** A file the scan read itself while readers ran: its record and identity, or why it did not load. */
type OwnRead = { parsed: ParsedTorrent, id: FileIdentity } | { err: unknown, mtimeMs: number }

export class ReaderHandoff {
  /** Reader processes started. */
  readers = 0
  /** Files that went through the hand-off and loaded, or did not. */
  loaded = 0
  failed = 0
  /** Of those, how many the readers read. */
  fromReaders = 0
  private readonly into: LoadedSet
  private readonly reader: SyncFileReader
  private readonly settings: ReaderSettings
  private pool: ReaderPool<OwnRead> | null = null
  private idleMark: IdleMark | undefined
  private decideAt: number
  private seen = 0

  /** `reader` is the scan's own: files no reader takes are read with it, and its read times count toward the idle cores. */
  constructor (into: LoadedSet, reader: SyncFileReader, settings: ReaderSettings) {
    this.into = into
    this.reader = reader
    this.settings = settings
    this.idleMark = settings.readers === undefined ? idleNow(reader) : undefined
    this.decideAt = settings.readersAfter
  }

  /**
   * Counts a file of the walk; past `readersAfter` of them, starts the readers if the cores
   * allow. Returns a promise only when the scan must wait for them (`waitForReaders`).
   */
  decide (): Promise<void> | undefined {
    if (this.pool !== null || ++this.seen <= this.decideAt) return undefined
    const s = this.settings
    const n = s.readers ?? readersFor(this.idleMark!, idleNow(this.reader))
    if (n > 0) {
      this.readers = n
      this.pool = new ReaderPool(s.dir, n, s.onReader, s.waitForReaders ? s.readerRoom ?? Infinity : undefined)
      if (s.waitForReaders) return this.pool.started()
    } else {
      // No core was free: look again later (a long scan from a cold disk leaves the cores idle).
      this.decideAt = s.readers === undefined ? this.seen + READERS_RECHECK : Infinity
      this.idleMark = idleNow(this.reader)
    }
    return undefined
  }

  /** Whether files go through the hand-off now: until a reader has started, the scan reads them itself (in walk order either way). */
  get active (): boolean {
    const pool = this.pool
    return pool !== null && (pool.pending > 0 || pool.ready)
  }

  /** Hands one file to a reader, or reads it here; adds the answers that are in, in walk order. */
  async handOut (file: string): Promise<void> {
    const pool = this.pool!
    if (pool.wantsPoll) await new Promise(resolve => setImmediate(resolve))
    // A file no reader has room for is read here and now, so the loader never waits
    // for a reader while it has files of its own to read; records go in in walk order.
    if (!pool.offer(file)) pool.own(file, await this.readOwn(file))
    // At most two records per file handed out: a reader's answers arrive in batches, and
    // adding a whole batch before handing out more names left the reader idle meanwhile
    // (~70% of a 100k scan went to the reader this way, ~55% adding every answer at once).
    for (let n = DRAIN_PER_FILE; n > 0 && pool.headReady; n--) await this.take(pool)
    if (pool.full) await this.take(pool)
  }

  /** The walk is done: adds every answer still out. */
  async drain (): Promise<void> {
    const pool = this.pool
    if (pool !== null) while (pool.pending > 0) await this.take(pool)
  }

  /** Ends the readers (`kill`: without waiting for them to finish their batch); safe to call twice. */
  close (kill = false): void {
    this.pool?.close(kill)
    this.pool = null
  }

  private async take (pool: ReaderPool<OwnRead>): Promise<void> {
    const a = await pool.next()
    if (a.line !== undefined) this.fromReaders += 1
    if (await (a.own !== undefined ? this.addOwn(a.full, a.own) : this.fromReader(a.full, a.line))) this.loaded += 1
    else this.failed += 1
  }

  /** Reads and parses a file the scan reads itself while readers run; added later, in walk order. */
  private async readOwn (full: string): Promise<OwnRead> {
    const read = this.reader.read(full)
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

  /** Adds what {@link readOwn} found, as a load of the file would have. */
  private async addOwn (full: string, own: OwnRead): Promise<boolean> {
    if ('err' in own) { this.into.failed(full, own.mtimeMs, own.err); return false }
    return this.into.apply(full, own.parsed, own.id)
  }

  /**
   * Adds a file as a reader process found it: its record, or its failure; a reader that died
   * or whose answer does not check out leaves the file to be read here.
   */
  private async fromReader (full: string, line: string | undefined): Promise<boolean> {
    if (line !== undefined && line.charCodeAt(0) === 0x21) {
      const failure = parseFailure(line)
      if (failure) { this.into.failed(full, failure.mtimeMs, failure.err); return false }
    } else if (line !== undefined) {
      const got = lineTorrent(line, full)
      if (got) return this.into.apply(full, got.torrent, got.id, line)
    }
    return this.into.load(full, this.reader.read(full))
  }
}
