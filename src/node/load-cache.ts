/**
 * The directory loader's resume data: for every .torrent it loaded, the file's identity (path
 * under the load path, size, mtime, ctime, inode) and the parsed record, kept in the state
 * directory. On the next start a file whose stat still matches is added from its cached record
 * without being opened, read or hashed (one stat instead of open/fstat/read/close, no SHA-1 of
 * its info dict), as libtorrent's resume data spares re-checking. Any other file is read as
 * before. ctime is part of the identity because nobody can set it back: a file rewritten in
 * place with the same size and a restored mtime still misses. And what is served is checked
 * anyway: an info dict read again for a peer must hash to the info hash, or it is refused.
 *
 * Format: text, one JSON array per line, each line prefixed with its own checksum (FNV-1a), so
 * the file is checked as it is read in chunks, in one pass (1M entries never sit in memory at
 * once). A header line names the format and the load path; a trailer line the entry count. A
 * file whose header does not check out is not used at all (one warning; every file is read); a
 * line that does not check out, or a file cut short, costs only those entries (their files are
 * read, and a warning says how many). The file is only ever replaced, by rename, with a complete
 * new one. Only this file is written: the load path is never touched.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs'
import { createHash } from 'node:crypto'
import { StringDecoder } from 'node:string_decoder'
import path from 'node:path'
import type { ParsedTorrent } from '../core/torrent.ts'

const FORMAT = 'torrent-fish load cache 2'
/** Longer than any line this file writes: a row holds a record's fields, never its info dict. */
const MAX_LINE = 16 * 1024 * 1024
const CHUNK = 1 << 20
const EMPTY = new Uint8Array(0)

/** FNV-1a over a line's UTF-16 units, as 8 hex digits: catches a damaged line, cheaply. */
function check (s: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(16).padStart(8, '0')
}

/** A line's JSON if its checksum matches, else undefined. */
function checked (line: string): unknown {
  if (line.length < 10 || line.charCodeAt(8) !== 0x20) return undefined
  const json = line.slice(9)
  if (check(json) !== line.slice(0, 8)) return undefined
  try { return JSON.parse(json) } catch { return undefined }
}

function line (json: string): string { return `${check(json)} ${json}` }

/** The file identity a cached record is valid for. */
export interface FileIdentity {
  size: number
  mtimeMs: number
  ctimeMs: number
  ino: number
}

export function identityOf (st: Stats): FileIdentity {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino }
}

/** Where the cache for a load path lives in a state directory (one file per load path). */
export function loadCacheFile (stateDir: string, loadPath: string): string {
  const id = createHash('sha1').update(path.resolve(loadPath)).digest('hex').slice(0, 16)
  return path.join(stateDir, 'load-cache', `${id}.jsonl`)
}

type Row = [rel: string, size: number, mtimeMs: number, ctimeMs: number, ino: number, infoHash: string, v1: 0 | 1, v2: string | null,
  name: string, length: number, fileCount: number, pieceLength: number, pieceCount: number, infoSize: number, infoOffset: number,
  priv: 0 | 1, announce: string[][], urlList: string[]]

const isStr = (v: unknown): v is string => typeof v === 'string'
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr)

function validRow (r: unknown): r is Row {
  return Array.isArray(r) && r.length === 18 && isStr(r[0]) && isNum(r[1]) && isNum(r[2]) && isNum(r[3]) && isNum(r[4]) &&
    isStr(r[5]) && /^[0-9a-f]{40}$/.test(r[5]) && (r[6] === 0 || r[6] === 1) && (r[7] === null || (isStr(r[7]) && /^[0-9a-f]{64}$/.test(r[7]))) &&
    isStr(r[8]) && r[8].length > 0 && isNum(r[9]) && isNum(r[10]) && isNum(r[11]) && isNum(r[12]) && isNum(r[13]) && isNum(r[14]) &&
    (r[15] === 0 || r[15] === 1) && Array.isArray(r[16]) && r[16].every(isStrList) && isStrList(r[17])
}

/** The record a row holds, as the loader adds it (no bytes: they are read again on demand). */
function rowTorrent (r: Row, full: string): ParsedTorrent {
  return {
    infoHash: r[5],
    infoHashV1: r[6] === 1 ? r[5] : undefined,
    infoHashV2: r[7] ?? undefined,
    name: r[8],
    length: r[9],
    fileCount: r[10],
    pieceLength: r[11],
    pieceCount: r[12],
    infoSize: r[13],
    infoOffset: r[14],
    private: r[15] === 1,
    announce: r[16],
    urlList: r[17],
    source: full,
    infoBytes: EMPTY,
    torrentBytes: EMPTY
  }
}

/** One loaded file's line: `rel` is its path under the load path, as the walk gives it. */
export function cacheLine (rel: string, id: FileIdentity, t: ParsedTorrent): string {
  const row: Row = [rel, id.size, id.mtimeMs, id.ctimeMs, id.ino, t.infoHash, t.infoHashV1 === t.infoHash ? 1 : 0, t.infoHashV2 ?? null,
    t.name, t.length, t.fileCount, t.pieceLength, t.pieceCount, t.infoSize, t.infoOffset, t.private ? 1 : 0, t.announce, t.urlList]
  return line(JSON.stringify(row))
}

/**
 * The record and file identity in a line made by {@link cacheLine} (a reader process's
 * answer), for the file at `full`; undefined when the line does not check out.
 */
export function lineTorrent (raw: string, full: string): { torrent: ParsedTorrent, id: FileIdentity } | undefined {
  const r = checked(raw)
  if (!validRow(r)) return undefined
  return { torrent: rowTorrent(r, full), id: { size: r[1], mtimeMs: r[2], ctimeMs: r[3], ino: r[4] } }
}

/** Why a cache file was not used. */
export class LoadCacheError extends Error {
  readonly code = 'ERR_LOAD_CACHE_CORRUPT'
}

/** Lines of a file, read in chunks (a character split between chunks decoded whole). */
function * lines (fd: number): Generator<string> {
  const buf = Buffer.allocUnsafe(CHUNK)
  const decoder = new StringDecoder('utf8')
  let rest = ''
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK, null)
    if (n === 0) break
    const text = rest + decoder.write(buf.subarray(0, n))
    let at = 0
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', at)) {
      yield text.slice(at, nl)
      at = nl + 1
    }
    rest = text.slice(at)
    // A line no record could fill (a damaged file with no newline for megabytes): hand it on
    // as it is, to fail its checksum, rather than hold the rest of the file in memory.
    if (rest.length > MAX_LINE) { yield rest; rest = '' }
  }
  rest += decoder.end()
  if (rest.length > 0) yield rest
}

/**
 * The cached records of one load path, checked whole before any is used, then handed out in
 * file order: the loader walks in the same (sorted) order, so a lookup only moves forward.
 */
export class LoadCacheReader {
  private readonly root: string
  private iter: Generator<string> | null
  private fd: number
  private next: Row | null = null
  private nextLine = ''
  private nextFull = ''
  /** Lines that did not check out (their files are read instead). */
  bad = 0
  /** Whether the trailer was reached with the count it states (else the file was cut short). */
  complete = false
  private seen = 0

  private constructor (fd: number, root: string) {
    this.fd = fd
    this.root = root
    this.iter = lines(fd)
  }

  /**
   * Opens a cache file and checks its header. Returns null when there is none; throws
   * {@link LoadCacheError} when it exists but cannot be used.
   */
  static open (file: string, root: string): LoadCacheReader | null {
    let fd: number
    try { fd = openSync(file, 'r') } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return null // no cache yet (the writer says if it cannot make one)
      throw new LoadCacheError(`${file}: cannot read the load cache (${(err as Error).message})`)
    }
    const reader = new LoadCacheReader(fd, root)
    try {
      if (!fstatSync(fd).isFile()) throw new LoadCacheError(`${file}: the load cache is not a regular file`)
      const first = reader.iter!.next()
      const header = first.done === true ? undefined : checked(first.value)
      if (!Array.isArray(header) || header[0] !== FORMAT || header[1] !== root) {
        throw new LoadCacheError(`${file}: not a load cache (of this version, for ${root}): corrupt or from elsewhere`)
      }
    } catch (err) {
      reader.close()
      if (err instanceof LoadCacheError) throw err
      throw new LoadCacheError(`${file}: cannot read the load cache (${(err as Error).message})`)
    }
    reader.advance()
    return reader
  }

  private advance (): void {
    this.next = null
    while (this.iter) {
      const step = this.iter.next()
      if (step.done === true) { this.close(); return }
      const row = checked(step.value)
      if (Array.isArray(row) && row[0] === 'end') { this.complete = row[1] === this.seen; this.close(); return }
      this.seen += 1
      if (!validRow(row)) { this.bad += 1; continue }
      this.next = row
      this.nextLine = step.value
      // Concatenated, not path.join(): a row written by add() is a normalized relative path, and
      // one that is not only misses (its file is read), as a changed file does.
      this.nextFull = this.root.endsWith(path.sep) ? this.root + row[0] : this.root + path.sep + row[0]
      return
    }
  }

  /**
   * The cached torrent for `full` if its identity still matches `id` (with its line, to be
   * written again as is), else undefined. Paths must be asked for in the order the cache was
   * written (sorted); entries passed over are files that are gone.
   */
  lookup (full: string, id: FileIdentity): { torrent: ParsedTorrent, line: string } | undefined {
    while (this.next !== null && this.nextFull < full) this.advance()
    const r = this.next
    if (r === null || this.nextFull !== full) return undefined
    const raw = this.nextLine
    this.advance()
    if (r[1] !== id.size || r[2] !== id.mtimeMs || r[3] !== id.ctimeMs || r[4] !== id.ino) return undefined
    const torrent = rowTorrent(r, full)
    return { torrent, line: raw }
  }

  /** Reads what is left (entries of files that are gone) to learn whether the file was whole. */
  drain (): void {
    while (this.iter !== null) this.advance()
  }

  close (): void {
    this.iter = null
    if (this.fd >= 0) { try { closeSync(this.fd) } catch {} this.fd = -1 }
  }
}

/**
 * Writes a new cache next to the old one and renames it over it when complete, so a crash or
 * a full disk leaves the previous file (or none), never half of one.
 */
export class LoadCacheWriter {
  private readonly file: string
  private readonly tmp: string
  private readonly root: string
  private readonly fd: number
  private buf: string[] = []
  private pending = 0
  private count = 0

  /** Throws (the state directory cannot be written) with the reason in the message. */
  constructor (file: string, root: string) {
    this.file = file
    this.root = root
    this.tmp = `${file}.${process.pid}.tmp`
    mkdirSync(path.dirname(file), { recursive: true })
    this.fd = openSync(this.tmp, 'w', 0o600)
    this.put(line(JSON.stringify([FORMAT, root])))
  }

  private put (line: string): void {
    this.buf.push(line)
    this.pending += line.length + 1
    if (this.pending >= CHUNK) this.flush()
  }

  private flush (): void {
    if (this.buf.length === 0) return
    const text = this.buf.join('\n') + '\n'
    this.buf = []
    this.pending = 0
    writeSync(this.fd, text)
  }

  /** One loaded file: where it is, what it was when read, what it holds. */
  add (full: string, id: FileIdentity, t: ParsedTorrent): void {
    // The walk's paths are the root joined with names: slicing gives what path.relative() does
    // without resolving both paths again (a cost per file on a cold scan).
    const rel = full.length > this.root.length + 1 && full.startsWith(this.root) && full[this.root.length] === path.sep
      ? full.slice(this.root.length + 1)
      : path.relative(this.root, full)
    this.put(cacheLine(rel, id, t))
    this.count += 1
  }

  /** A file that loaded from the cache unchanged: its line again, as it was. */
  addLine (raw: string): void {
    this.put(raw)
    this.count += 1
  }

  /** Completes the file and puts it in place. */
  commit (): void {
    this.put(line(JSON.stringify(['end', this.count])))
    this.flush()
    closeSync(this.fd)
    renameSync(this.tmp, this.file)
  }

  /** Drops the unfinished file (a scan that failed part-way). */
  abort (): void {
    try { closeSync(this.fd) } catch {}
    rmSync(this.tmp, { force: true })
  }
}
