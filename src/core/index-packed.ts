/**
 * The packed torrent index: every field the store keeps per torrent, in typed arrays and one
 * byte heap, so 1M torrents are a few dozen large buffers instead of millions of JavaScript
 * objects, strings and Map entries (which cost ~1.4 KiB per torrent, and GC time to match).
 *
 * Per torrent (a "slot"): the info hash and its MSE obfuscated hash (20 bytes each), the
 * numbers of {@link TorrentRecord} (Uint32 / Float64 columns), the name, the file name and the
 * web seeds as UTF-8 in the heap, the directory and tracker tiers as ids into interned tables
 * (thousands of torrents share a directory and a tracker list). Lookups by info hash and by
 * obfuscated hash are two open-addressing tables of slot numbers keyed by the hash's first
 * bytes (hashes are uniformly random). The rare extra handshake hashes (v1 of a hybrid,
 * truncated v2) and the full v2 hash live in small Maps.
 *
 * Slots are never reused after a removal, so a record view held by a closing connection still
 * reads the torrent it was made for; a replacement under the same hash rewrites its slot.
 */
import { arr2text, text2arr } from 'uint8-util'
import type { TorrentRecord } from './torrent.ts'

const HASH = 20
const encoder = new TextEncoder()
const EMPTY = 0
const TOMBSTONE = -1

/** Flag bits per slot. */
export const F_LIVE = 1
export const F_PRIVATE = 2
export const F_PINNED = 4

/** Fields written for one slot (what {@link PackedIndex.put} takes): a record's, with its hashes as bytes. */
export type PackedFields = Omit<TorrentRecord, 'infoHash'> & {
  hash: Uint8Array
  obfuscated: Uint8Array
}

const HEX = '0123456789abcdef'
const HEX_VALUE = (() => {
  const t = new Int8Array(128).fill(-1)
  for (let i = 0; i < 16; i++) { t[HEX.charCodeAt(i)] = i; t[HEX.toUpperCase().charCodeAt(i)] = i }
  return t
})()

/** Parses 40 hex chars into `out` (20 bytes); false when `hex` is not 40 hex chars. */
export function hexInto (hex: string, out: Uint8Array): boolean {
  if (hex.length !== 40) return false
  for (let i = 0; i < HASH; i++) {
    const a = hex.charCodeAt(2 * i)
    const b = hex.charCodeAt(2 * i + 1)
    const hi = a < 128 ? HEX_VALUE[a] : -1
    const lo = b < 128 ? HEX_VALUE[b] : -1
    if (hi < 0 || lo < 0) return false
    out[i] = (hi << 4) | lo
  }
  return true
}

const HEX_CODES = Uint8Array.from(HEX, c => c.charCodeAt(0))
const hexScratch = new Uint16Array(2 * HASH)

/**
 * 40 hex chars of the 20 bytes at `at`, as one flat string: built with `+=` it would be a rope
 * of 40 nodes (~1.3 KB) until something flattened it, and callers keep these strings as Map keys.
 */
export function hexAt (bytes: Uint8Array, at: number): string {
  for (let i = 0; i < HASH; i++) {
    const b = bytes[at + i]
    hexScratch[2 * i] = HEX_CODES[b >> 4]
    hexScratch[2 * i + 1] = HEX_CODES[b & 15]
  }
  return String.fromCharCode.apply(null, hexScratch as unknown as number[])
}

/** Strings shared by many torrents (directories, tracker lists), stored once with an id. */
class Interned<T> {
  readonly values: T[] = []
  private readonly ids = new Map<string, number>()
  get (key: string): number | undefined { return this.ids.get(key) }
  id (key: string, value: T): number {
    let id = this.ids.get(key)
    if (id === undefined) {
      id = this.values.length
      this.values.push(value)
      this.ids.set(key, id)
    }
    return id
  }
}

/** An open-addressing table of slot numbers (+1) keyed by 20-byte hashes stored elsewhere. */
class HashTable {
  table: Int32Array
  used = 0
  tombstones = 0
  constructor (size: number) { this.table = new Int32Array(size) }

  static start (bytes: Uint8Array, at: number, mask: number): number {
    return ((bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0) & mask
  }

  find (key: Uint8Array, keyAt: number, store: Uint8Array): number {
    const { table } = this
    const mask = table.length - 1
    for (let i = HashTable.start(key, keyAt, mask); ; i = (i + 1) & mask) {
      const v = table[i]
      if (v === EMPTY) return -1
      if (v !== TOMBSTONE && equal(store, (v - 1) * HASH, key, keyAt)) return v - 1
    }
  }

  insert (slot: number, store: Uint8Array): void {
    const { table } = this
    const mask = table.length - 1
    let i = HashTable.start(store, slot * HASH, mask)
    while (table[i] !== EMPTY && table[i] !== TOMBSTONE) i = (i + 1) & mask
    if (table[i] === TOMBSTONE) this.tombstones -= 1
    table[i] = slot + 1
    this.used += 1
  }

  remove (slot: number, store: Uint8Array): void {
    const { table } = this
    const mask = table.length - 1
    for (let i = HashTable.start(store, slot * HASH, mask); table[i] !== EMPTY; i = (i + 1) & mask) {
      if (table[i] === slot + 1) {
        table[i] = TOMBSTONE
        this.used -= 1
        this.tombstones += 1
        return
      }
    }
  }

  /** Whether one more entry would make probing slow (load above 1/2, tombstones counted). */
  full (): boolean { return (this.used + this.tombstones + 1) * 2 > this.table.length }
}

function equal (a: Uint8Array, at: number, b: Uint8Array, bt: number): boolean {
  for (let i = 0; i < HASH; i++) if (a[at + i] !== b[bt + i]) return false
  return true
}

function grow<T extends Uint8Array | Uint32Array | Float64Array> (a: T, size: number): T {
  const out = new (a.constructor as new (n: number) => T)(size)
  out.set(a)
  return out
}

export class PackedIndex {
  /** Slots used so far (live or removed). */
  slots = 0
  live = 0
  private cap: number
  hashes: Uint8Array
  obfuscated: Uint8Array
  flags: Uint8Array
  length: Float64Array
  /** Bumped on every write of a slot, so a view can tell it was made before a replacement. */
  revision: Uint32Array
  /** Columns of Uint32: see the `C_*` offsets. */
  private u32: Uint32Array
  private heap: Uint8Array
  private heapUsed = 0
  private readonly byHash: HashTable
  private readonly byObfuscated: HashTable
  /** Other handshake hashes (v1 of a hybrid, truncated v2; hex) -> slot. Rare. */
  readonly aliases = new Map<string, number>()
  /** Full SHA-256 info hash of v2 / hybrid torrents, and v1 hashes that are not the primary one. */
  readonly v2 = new Map<number, string>()
  readonly v1Differs = new Set<number>()
  private readonly dirs = new Interned<string>()
  private readonly tiers = new Interned<string[][]>()
  private readonly scratch = new Uint8Array(HASH)

  constructor (initial = 1024) {
    this.cap = initial
    this.hashes = new Uint8Array(initial * HASH)
    this.obfuscated = new Uint8Array(initial * HASH)
    this.flags = new Uint8Array(initial)
    this.length = new Float64Array(initial)
    this.revision = new Uint32Array(initial)
    this.u32 = new Uint32Array(initial * COLS)
    this.heap = new Uint8Array(initial * 64)
    this.byHash = new HashTable(initial * 2)
    this.byObfuscated = new HashTable(initial * 2)
    this.tiers.id('', [])
    this.dirs.id('\u0000none', '')
  }

  /** Bytes held by the index's buffers (what the index costs, without the interned tables). */
  get bytes (): number {
    return this.hashes.byteLength + this.obfuscated.byteLength + this.flags.byteLength + this.length.byteLength +
      this.u32.byteLength + this.heap.byteLength + this.byHash.table.byteLength + this.byObfuscated.table.byteLength
  }

  // ---- lookups ----

  /** Slot of a live torrent by its primary info hash (hex, any case), or -1. */
  find (hex: string): number {
    if (!hexInto(hex, this.scratch)) return -1
    const slot = this.byHash.find(this.scratch, 0, this.hashes)
    return slot >= 0 && (this.flags[slot] & F_LIVE) !== 0 ? slot : -1
  }

  /** Like {@link find}, also by an alias (v1 of a hybrid, truncated v2). */
  findAny (hex: string): number {
    const slot = this.find(hex)
    if (slot >= 0) return slot
    const alias = this.aliases.size > 0 ? this.aliases.get(hex.toLowerCase()) : undefined
    return alias !== undefined && (this.flags[alias] & F_LIVE) !== 0 ? alias : -1
  }

  findObfuscated (hex: string): number {
    if (!hexInto(hex, this.scratch)) return -1
    const slot = this.byObfuscated.find(this.scratch, 0, this.obfuscated)
    return slot >= 0 && (this.flags[slot] & F_LIVE) !== 0 ? slot : -1
  }

  // ---- writes ----

  /** Writes a torrent into `slot` (a replacement under the same hash) or a new slot; returns the slot. */
  put (f: PackedFields, slot = -1): number {
    if (slot < 0) {
      if (this.slots === this.cap) this.resize(Math.ceil(this.cap * 1.5))
      slot = this.slots++
      this.hashes.set(f.hash, slot * HASH)
      this.obfuscated.set(f.obfuscated, slot * HASH)
      if (this.byHash.full()) this.rehash(this.byHash, this.hashes)
      if (this.byObfuscated.full()) this.rehash(this.byObfuscated, this.obfuscated)
      this.byHash.insert(slot, this.hashes)
      this.byObfuscated.insert(slot, this.obfuscated)
      this.live += 1
    }
    const o = slot * COLS
    const u = this.u32
    u[o + C_FILES] = f.fileCount
    u[o + C_PIECE_LENGTH] = f.pieceLength
    u[o + C_PIECES] = f.pieceCount
    u[o + C_INFO_SIZE] = f.infoSize
    u[o + C_INFO_OFFSET] = f.infoOffset
    this.length[slot] = f.length
    const cut = f.source === undefined ? -1 : f.source.lastIndexOf('/')
    u[o + C_DIR] = f.source === undefined ? 0 : this.dirId(f.source, cut) + 1
    u[o + C_TIERS] = f.announce.length === 0 ? 0 : this.tierId(f.announce)
    this.putString(o + C_NAME, f.name)
    this.putString(o + C_FILE, f.source === undefined ? '' : f.source.slice(cut + 1))
    this.putString(o + C_URLS, f.urlList.length === 0 ? '' : f.urlList.length === 1 ? f.urlList[0] : f.urlList.join('\n'))
    u[o + C_URL_COUNT] = f.urlList.length
    this.flags[slot] = F_LIVE | (f.private ? F_PRIVATE : 0)
    this.revision[slot] += 1
    if (f.infoHashV2) this.v2.set(slot, f.infoHashV2)
    else this.v2.delete(slot)
    if (f.infoHashV1 === undefined) this.v1Differs.add(slot)
    else this.v1Differs.delete(slot)
    return slot
  }

  /** Marks a slot removed: it leaves the lookup tables; its fields stay readable for old views. */
  remove (slot: number): void {
    if ((this.flags[slot] & F_LIVE) === 0) return
    this.flags[slot] &= ~F_LIVE
    this.byHash.remove(slot, this.hashes)
    this.byObfuscated.remove(slot, this.obfuscated)
    this.live -= 1
  }

  setPinned (slot: number, pinned: boolean): void {
    if (pinned) this.flags[slot] |= F_PINNED
    else this.flags[slot] &= ~F_PINNED
  }

  // ---- reads ----

  isLive (slot: number): boolean { return (this.flags[slot] & F_LIVE) !== 0 }
  infoHash (slot: number): string { return hexAt(this.hashes, slot * HASH) }
  num (slot: number, col: number): number { return this.u32[slot * COLS + col] }
  name (slot: number): string { return this.getString(slot * COLS + C_NAME) }
  source (slot: number): string | undefined {
    const dir = this.u32[slot * COLS + C_DIR]
    return dir === 0 ? undefined : this.dirs.values[dir - 1] + this.getString(slot * COLS + C_FILE)
  }

  announce (slot: number): string[][] { return this.tiers.values[this.u32[slot * COLS + C_TIERS]] }
  urlList (slot: number): string[] {
    if (this.u32[slot * COLS + C_URL_COUNT] === 0) return []
    return this.getString(slot * COLS + C_URLS).split('\n')
  }

  // ---- internals ----

  /**
   * The directory of `source` (up to `cut`) as an interned id. A load adds a directory's files
   * one after another: the last directory is checked first, without slicing the path.
   */
  private dirId (source: string, cut: number): number {
    const last = this.lastDir
    if (last !== null && last.length === cut + 1 && source.startsWith(last)) return this.lastDirId
    const dir = source.slice(0, cut + 1)
    this.lastDir = dir
    this.lastDirId = this.dirs.id(dir, dir)
    return this.lastDirId
  }

  private lastDir: string | null = null
  private lastDirId = 0

  /** The tracker tiers as an interned id; the tiers are copied only the first time. */
  private tierId (announce: string[][]): number {
    // One tier of one tracker (most torrents): its URL is the key, as the joined form would be.
    const key = announce.length === 1 && announce[0].length === 1 ? announce[0][0] : announce.map(t => t.join('\n')).join('\n\n')
    const known = this.tiers.get(key)
    return known !== undefined ? known : this.tiers.id(key, announce.map(t => t.slice()))
  }

  private putString (col: number, s: string): void {
    const u = this.u32
    if (s.length === 0) { u[col] = 0; u[col + 1] = 0; return }
    // A rewrite that fits reuses its bytes (a replacement rarely grows its name).
    if (u[col + 1] !== 0) {
      const bytes = text2arr(s)
      if (u[col + 1] >= bytes.length) {
        this.heap.set(bytes, u[col])
        u[col + 1] = bytes.length
        return
      }
    }
    // Encoded in place: UTF-8 takes at most 3 bytes per UTF-16 unit.
    const room = s.length * 3
    if (this.heapUsed + room > this.heap.length) this.heap = grow(this.heap, Math.max(this.heapUsed + room, Math.ceil(this.heap.length * 1.5)))
    const { written } = encoder.encodeInto(s, this.heap.subarray(this.heapUsed))
    u[col] = this.heapUsed
    u[col + 1] = written
    this.heapUsed += written
  }

  private getString (col: number): string {
    const len = this.u32[col + 1]
    if (len === 0) return ''
    const at = this.u32[col]
    return arr2text(this.heap.subarray(at, at + len))
  }

  private resize (cap: number): void {
    this.hashes = grow(this.hashes, cap * HASH)
    this.obfuscated = grow(this.obfuscated, cap * HASH)
    this.flags = grow(this.flags, cap)
    this.length = grow(this.length, cap)
    this.revision = grow(this.revision, cap)
    this.u32 = grow(this.u32, cap * COLS)
    this.cap = cap
  }

  private rehash (t: HashTable, store: Uint8Array): void {
    const next = new HashTable(Math.max(t.table.length * 2, 16))
    for (let slot = 0; slot < this.slots; slot++) if ((this.flags[slot] & F_LIVE) !== 0) next.insert(slot, store)
    t.table = next.table
    t.used = next.used
    t.tombstones = 0
  }

  /** Trims every buffer to what is used (after a large load, so growth slack is not kept). */
  trim (): void {
    if (this.cap > this.slots) {
      const cap = Math.max(this.slots, 16)
      const cut = <T extends Uint8Array | Uint32Array | Float64Array>(a: T, n: number): T => a.slice(0, n) as T
      this.hashes = cut(this.hashes, cap * HASH)
      this.obfuscated = cut(this.obfuscated, cap * HASH)
      this.flags = cut(this.flags, cap)
      this.length = cut(this.length, cap)
      this.revision = cut(this.revision, cap)
      this.u32 = cut(this.u32, cap * COLS)
      this.cap = cap
    }
    if (this.heap.length > this.heapUsed) this.heap = this.heap.slice(0, Math.max(this.heapUsed, 64))
  }
}

// Uint32 columns per slot. Strings are (heap offset, byte length) pairs.
export const C_FILES = 0
export const C_PIECE_LENGTH = 1
export const C_PIECES = 2
export const C_INFO_SIZE = 3
export const C_INFO_OFFSET = 4
const C_DIR = 5
const C_TIERS = 6
const C_NAME = 7 // + 8
const C_FILE = 9 // + 10
const C_URLS = 11 // + 12
const C_URL_COUNT = 13
const COLS = 14
