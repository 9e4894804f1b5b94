/**
 * The directory loader's bookkeeping per file, packed: which info hash a path provides and the
 * mtime and size it had when it loaded (so a rescan skips unchanged files). As two Maps keyed by
 * the absolute path, with a hex string and an "mtime:size" string per file, this cost ~300
 * bytes per torrent; here a file is its directory's id (directories are interned), its base
 * name as UTF-8 in one byte heap, the 20 hash bytes and two numbers: ~50 bytes plus the name.
 */
import path from 'node:path'
import { hexAt, hexInto } from '../core/index-packed.ts'

const HASH = 20
const EMPTY = 0
const TOMBSTONE = -1
const encoder = new TextEncoder()
const decoder = new TextDecoder()

function grown<T extends Int32Array | Uint32Array | Uint8Array | Float64Array> (a: T, size: number): T {
  const out = new (a.constructor as new (n: number) => T)(size)
  out.set(a)
  return out
}

/** FNV-1a over a string's UTF-16 units. */
function hashString (s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

export class PathTable {
  private readonly dirIds = new Map<string, number>()
  private readonly dirs: string[] = []
  private cap = 0
  private next = 0
  private readonly free: number[] = []
  private dir = new Uint32Array(0)
  private nameAt = new Uint32Array(0)
  private nameLen = new Uint32Array(0)
  private hashes = new Uint8Array(0)
  private mtime = new Float64Array(0)
  private fileSize = new Float64Array(0)
  private live = new Uint8Array(0)
  /** Each path's hash, so probes and rehashes need not decode names. */
  private pathHash = new Uint32Array(0)
  private heap = new Uint8Array(4096)
  private heapUsed = 0
  /** Open addressing by the path's hash: entry + 1, EMPTY or TOMBSTONE. */
  private table = new Int32Array(64)
  private used = 0
  private tombstones = 0
  private readonly scratch = new Uint8Array(HASH)
  /** Non-hex info hashes (never from parseTorrent, which gives 40 hex chars), kept whole. */
  private readonly odd = new Map<number, string>()
  size = 0

  /** The entry of a path (absolute, as the loader resolved it), or -1. */
  private find (full: string): number {
    const cut = full.lastIndexOf(path.sep)
    const dirId = this.dirOf(full, cut, false)
    return dirId < 0 ? -1 : this.probe(full, cut, dirId, hashString(full))
  }

  private probe (full: string, cut: number, dirId: number, h: number): number {
    const mask = this.table.length - 1
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = this.table[i]
      if (v === EMPTY) return -1
      if (v !== TOMBSTONE && this.pathHash[v - 1] === h && this.dir[v - 1] === dirId && this.nameOf(v - 1) === full.slice(cut + 1)) return v - 1
    }
  }

  /**
   * The id of the directory of `full` (up to `cut`), made if `make`, else -1 when unknown. A scan
   * sets a directory's files one after another: the last directory is checked without a slice.
   */
  private dirOf (full: string, cut: number, make: boolean): number {
    const last = this.lastDir
    if (last !== null && last.length === cut + 1 && full.startsWith(last)) return this.lastDirId
    const dirName = full.slice(0, cut + 1)
    let dirId = this.dirIds.get(dirName)
    if (dirId === undefined) {
      if (!make) return -1
      dirId = this.dirs.length
      this.dirs.push(dirName)
      this.dirIds.set(dirName, dirId)
    }
    this.lastDir = dirName
    this.lastDirId = dirId
    return dirId
  }

  private lastDir: string | null = null
  private lastDirId = 0

  private nameOf (e: number): string {
    return decoder.decode(this.heap.subarray(this.nameAt[e], this.nameAt[e] + this.nameLen[e]))
  }

  private pathOf (e: number): string { return this.dirs[this.dir[e]] + this.nameOf(e) }

  has (full: string): boolean { return this.find(full) >= 0 }

  infoHash (full: string): string | undefined {
    const e = this.find(full)
    if (e < 0) return undefined
    return this.odd.get(e) ?? hexAt(this.hashes, e * HASH)
  }

  /** Whether the path loaded from a file of this mtime and size. */
  unchanged (full: string, mtimeMs: number, size: number): boolean {
    const e = this.find(full)
    return e >= 0 && this.mtime[e] === mtimeMs && this.fileSize[e] === size
  }

  /** Records (or updates) what a path provides. */
  set (full: string, infoHash: string, mtimeMs: number, size: number): void {
    const cut = full.lastIndexOf(path.sep)
    const dirId = this.dirOf(full, cut, true)
    const h = hashString(full)
    let e = this.probe(full, cut, dirId, h)
    if (e < 0) e = this.insert(full, cut, dirId, h)
    if (hexInto(infoHash, this.scratch)) { this.hashes.set(this.scratch, e * HASH); this.odd.delete(e) } else this.odd.set(e, infoHash)
    this.mtime[e] = mtimeMs
    this.fileSize[e] = size
  }

  delete (full: string): boolean {
    const e = this.find(full)
    if (e < 0) return false
    const mask = this.table.length - 1
    for (let i = this.pathHash[e] & mask; ; i = (i + 1) & mask) {
      if (this.table[i] === e + 1) { this.table[i] = TOMBSTONE; this.tombstones += 1; this.used -= 1; break }
    }
    this.live[e] = 0
    this.odd.delete(e)
    this.free.push(e)
    this.size -= 1
    return true
  }

  /** Every path, as strings made one at a time. */
  * paths (): IterableIterator<string> {
    for (let e = 0; e < this.next; e++) if (this.live[e] === 1) yield this.pathOf(e)
  }

  /** Bytes the columns, the name heap and the table hold. */
  get bytes (): number {
    return this.cap * (4 + 4 + 4 + HASH + 8 + 8 + 1 + 4) + this.heap.byteLength + this.table.byteLength
  }

  /** Gives back the growth slack of the name heap (after a large load). */
  trim (): void {
    if (this.heap.length > this.heapUsed + 4096) this.heap = this.heap.slice(0, this.heapUsed + 4096)
  }

  private insert (full: string, cut: number, dirId: number, h: number): number {
    const e = this.free.length > 0 ? this.free.pop()! : this.next++
    if (e >= this.cap) this.grow(Math.ceil(this.cap * 1.5) + 64)
    this.dir[e] = dirId
    this.putName(e, full.slice(cut + 1))
    this.live[e] = 1
    if ((this.used + this.tombstones + 1) * 2 > this.table.length) this.rehash(this.used * 4 > this.table.length ? this.table.length * 2 : this.table.length)
    this.pathHash[e] = h
    this.place(e, h)
    this.used += 1
    this.size += 1
    return e
  }

  private putName (e: number, base: string): void {
    // A UTF-8 name takes at most 3 bytes per UTF-16 unit.
    const room = base.length * 3
    if (this.heapUsed + room > this.heap.length) this.heap = grown(this.heap, Math.max(this.heapUsed + room, Math.ceil(this.heap.length * 1.5)))
    const { written } = encoder.encodeInto(base, this.heap.subarray(this.heapUsed))
    this.nameAt[e] = this.heapUsed
    this.nameLen[e] = written
    this.heapUsed += written
  }

  private place (e: number, h: number): void {
    const mask = this.table.length - 1
    let i = h & mask
    while (this.table[i] > 0) i = (i + 1) & mask
    if (this.table[i] === TOMBSTONE) this.tombstones -= 1
    this.table[i] = e + 1
  }

  private rehash (size: number): void {
    const old = this.table
    this.table = new Int32Array(Math.max(size, 16))
    this.tombstones = 0
    for (const v of old) if (v > 0) this.place(v - 1, this.pathHash[v - 1])
  }

  private grow (cap: number): void {
    this.dir = grown(this.dir, cap)
    this.nameAt = grown(this.nameAt, cap)
    this.nameLen = grown(this.nameLen, cap)
    this.hashes = grown(this.hashes, cap * HASH)
    this.mtime = grown(this.mtime, cap)
    this.fileSize = grown(this.fileSize, cap)
    this.live = grown(this.live, cap)
    this.pathHash = grown(this.pathHash, cap)
    this.cap = cap
  }
}
