/**
 * The announce scheduler's per-(torrent, target) state, packed: 100k torrents announced to a
 * tracker, the DHT and LSD are 300k jobs, and as JavaScript objects (a job object, a heap
 * number for its due time, a list per torrent, a hex key per torrent) they cost ~390 bytes per
 * torrent and a third of a 100k-torrent heap. Here a job is one index into typed-array columns
 * (~42 bytes), a torrent one 20-byte hash in an open-addressing table (~36 bytes), and each
 * target's queue a binary min-heap of job indices keyed by the due column. Isomorphic.
 *
 * Job and torrent indices are reused after they are freed; the scheduler never holds one across
 * an await except for jobs in flight, which are freed only when their announce finishes.
 */
import { hexAt, hexInto } from '../core/index-packed.ts'
import type { AnnounceEvent } from './target.ts'

const HASH = 20
const EMPTY = 0
const TOMBSTONE = -1

export const EVENTS: readonly AnnounceEvent[] = ['started', 'update', 'stopped']
export const EV_STARTED = 0
export const EV_UPDATE = 1

/** Job flag bits. */
export const J_ANNOUNCED = 1
export const J_IN_FLIGHT = 2
export const J_REMOVED = 4
/** The job has a last result (its first announce has finished). */
export const J_HAS_LAST = 8

function grown<T extends Int32Array | Int16Array | Uint8Array | Uint16Array | Float64Array> (a: T, size: number, fill = 0): T {
  const out = new (a.constructor as new (n: number) => T)(size)
  out.set(a.length > size ? a.subarray(0, size) : a)
  if (fill !== 0 && size > a.length) out.fill(fill, a.length)
  return out
}

/** Torrents by info hash: 20 bytes each and a slot table; keys that are not 40 hex chars go to a Map. */
export class TorrentKeys {
  private hashes = new Uint8Array(HASH * 64)
  /** Open addressing: tid + 1, EMPTY or TOMBSTONE. */
  private table = new Int32Array(128)
  private used = 0
  private tombstones = 0
  private cap = 64
  private next = 0
  private readonly free: number[] = []
  /** First job of each torrent (-1 none). */
  first = new Int32Array(64).fill(-1)
  /** Keys that are not hex info hashes (tests, odd callers): rare, so a Map. */
  private readonly odd = new Map<string, number>()
  private readonly oddNames = new Map<number, string>()
  private readonly scratch = new Uint8Array(HASH)
  size = 0

  private slotOf (key: Uint8Array, at: number): number {
    const mask = this.table.length - 1
    // Info hashes are uniformly random: their first bytes are a good hash.
    return ((key[at] | (key[at + 1] << 8) | (key[at + 2] << 16) | (key[at + 3] << 24)) >>> 0) & mask
  }

  private equal (tid: number, key: Uint8Array): boolean {
    const h = this.hashes
    const o = tid * HASH
    for (let i = 0; i < HASH; i++) if (h[o + i] !== key[i]) return false
    return true
  }

  /** The torrent id of a key, or -1. */
  find (infoHash: string): number {
    if (!hexInto(infoHash, this.scratch)) return this.odd.get(infoHash) ?? -1
    const key = this.scratch
    const mask = this.table.length - 1
    for (let i = this.slotOf(key, 0); ; i = (i + 1) & mask) {
      const v = this.table[i]
      if (v === EMPTY) return -1
      if (v !== TOMBSTONE && this.equal(v - 1, key)) return v - 1
    }
  }

  /** Adds a key known to be absent; returns its torrent id. */
  insert (infoHash: string): number {
    const tid = this.free.length > 0 ? this.free.pop()! : this.next++
    if (tid >= this.cap) {
      this.cap = this.cap * 2 + 16
      this.hashes = grown(this.hashes, this.cap * HASH)
      this.first = grown(this.first, this.cap, -1)
    }
    this.first[tid] = -1
    this.size += 1
    if (!hexInto(infoHash, this.scratch)) {
      this.odd.set(infoHash, tid)
      this.oddNames.set(tid, infoHash)
      return tid
    }
    this.hashes.set(this.scratch, tid * HASH)
    if ((this.used + this.tombstones + 1) * 2 > this.table.length) this.rehash(this.used * 4 > this.table.length ? this.table.length * 2 : this.table.length)
    this.place(tid)
    this.used += 1
    return tid
  }

  private place (tid: number): void {
    const mask = this.table.length - 1
    let i = this.slotOf(this.hashes, tid * HASH)
    while (this.table[i] !== EMPTY && this.table[i] !== TOMBSTONE) i = (i + 1) & mask
    if (this.table[i] === TOMBSTONE) this.tombstones -= 1
    this.table[i] = tid + 1
  }

  private rehash (size: number): void {
    const old = this.table
    this.table = new Int32Array(Math.max(size, 16))
    this.tombstones = 0
    for (const v of old) if (v > 0) this.place(v - 1)
  }

  delete (tid: number): void {
    this.size -= 1
    this.free.push(tid)
    const odd = this.oddNames.get(tid)
    if (odd !== undefined) { this.oddNames.delete(tid); this.odd.delete(odd); return }
    const mask = this.table.length - 1
    for (let i = this.slotOf(this.hashes, tid * HASH); ; i = (i + 1) & mask) {
      const v = this.table[i]
      if (v === EMPTY) return
      if (v === tid + 1) { this.table[i] = TOMBSTONE; this.tombstones += 1; this.used -= 1; return }
    }
  }

  /** Gives back the columns' growth slack (after a large load). */
  trim (): void {
    const cap = Math.max(this.next, 16)
    if (cap >= this.cap) return
    this.hashes = this.hashes.slice(0, cap * HASH)
    this.first = this.first.slice(0, cap)
    this.cap = cap
  }

  /** Bytes the hashes, the job links and the lookup table hold. */
  get bytes (): number { return this.hashes.byteLength + this.first.byteLength + this.table.byteLength }

  /** The key of a torrent id, as given (hex keys come back lowercase). */
  key (tid: number): string {
    return this.oddNames.get(tid) ?? hexAt(this.hashes, tid * HASH)
  }
}

/** The jobs' columns. */
export class JobTable {
  cap = 0
  torrent = new Int32Array(0)
  target = new Uint16Array(0)
  due = new Float64Array(0)
  event = new Uint8Array(0)
  flags = new Uint8Array(0)
  failures = new Uint16Array(0)
  /** Next job of the same torrent (-1 none). */
  nextOfTorrent = new Int32Array(0)
  /** Position in its target's heap, -1 when not queued (in flight, or free). */
  heapPos = new Int32Array(0)
  // The last result: `at` and counts per job, the rest (ok, event, code, message, interval) interned.
  lastAt = new Float64Array(0)
  lastShape = new Int16Array(0)
  /** Counts up to 65,533; 0xffff: not reported (see last-results.ts, which keeps larger ones whole). */
  lastPeers = new Uint16Array(0)
  lastSeeders = new Uint16Array(0)
  lastLeechers = new Uint16Array(0)
  private next = 0
  private readonly free: number[] = []
  live = 0

  alloc (): number {
    const j = this.free.length > 0 ? this.free.pop()! : this.next++
    if (j >= this.cap) this.grow(this.cap * 2 + 64) // doubling: fewer copies of 13 columns; trim() gives the slack back
    this.flags[j] = 0
    this.failures[j] = 0
    this.nextOfTorrent[j] = -1
    this.heapPos[j] = -1
    this.live += 1
    return j
  }

  release (j: number): void {
    this.flags[j] = 0
    this.heapPos[j] = -1
    this.free.push(j)
    this.live -= 1
  }

  /** Gives back the columns' growth slack (after a large load). */
  trim (): void {
    const cap = Math.max(this.next, 16)
    if (cap < this.cap) this.grow(cap)
  }

  /** Highest job index ever used + 1 (for walks over every job). */
  get extent (): number { return this.next }

  private grow (cap: number): void {
    this.torrent = grown(this.torrent, cap)
    this.target = grown(this.target, cap)
    this.due = grown(this.due, cap)
    this.event = grown(this.event, cap)
    this.flags = grown(this.flags, cap)
    this.failures = grown(this.failures, cap)
    this.nextOfTorrent = grown(this.nextOfTorrent, cap)
    this.heapPos = grown(this.heapPos, cap)
    this.lastAt = grown(this.lastAt, cap)
    this.lastShape = grown(this.lastShape, cap)
    this.lastPeers = grown(this.lastPeers, cap)
    this.lastSeeders = grown(this.lastSeeders, cap)
    this.lastLeechers = grown(this.lastLeechers, cap)
    this.cap = cap
  }

  /** Bytes the columns hold. */
  get bytes (): number {
    return this.cap * (4 + 2 + 8 + 1 + 1 + 2 + 4 + 4 + 8 + 2 + 2 + 2 + 2)
  }
}

/**
 * A binary min-heap of job indices ordered by `jobs.due`, which records each job's position in
 * `jobs.heapPos` so a removed torrent's jobs leave the heap at once (no dead entries to skip).
 */
export class JobHeap {
  private items = new Int32Array(16)
  size = 0
  private readonly jobs: JobTable

  constructor (jobs: JobTable) { this.jobs = jobs }

  peek (): number { return this.size > 0 ? this.items[0] : -1 }

  push (j: number): void {
    if (this.size === this.items.length) this.items = grown(this.items, this.items.length * 2)
    this.up(this.size++, j)
  }

  pop (): number {
    if (this.size === 0) return -1
    const top = this.items[0]
    this.jobs.heapPos[top] = -1
    const last = this.items[--this.size]
    if (this.size > 0) this.down(0, last)
    return top
  }

  /** Takes a queued job out, wherever it is. */
  remove (j: number): void {
    const at = this.jobs.heapPos[j]
    if (at < 0) return
    this.jobs.heapPos[j] = -1
    const last = this.items[--this.size]
    if (at === this.size) return
    const due = this.jobs.due
    if (at > 0 && due[last] < due[this.items[(at - 1) >> 1]]) this.up(at, last)
    else this.down(at, last)
  }

  /** Every queued job, in heap order (for walks; do not change the heap meanwhile). */
  at (i: number): number { return this.items[i] }

  /** Restores the heap order after the due times of queued jobs changed. */
  rebuild (): void {
    for (let i = 0; i < this.size; i++) this.jobs.heapPos[this.items[i]] = i
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.down(i, this.items[i])
  }

  /** Gives back the slack of the items array (after a large load). */
  trim (): void {
    if (this.items.length > this.size * 1.25 + 16) this.items = this.items.slice(0, this.size + 16)
  }

  get bytes (): number { return this.items.byteLength }

  private up (i: number, j: number): void {
    const items = this.items
    const due = this.jobs.due
    const pos = this.jobs.heapPos
    const k = due[j]
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = items[parent]
      if (due[p] <= k) break
      items[i] = p
      pos[p] = i
      i = parent
    }
    items[i] = j
    pos[j] = i
  }

  private down (i: number, j: number): void {
    const items = this.items
    const due = this.jobs.due
    const pos = this.jobs.heapPos
    const n = this.size
    const k = due[j]
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && due[items[right]] < due[items[left]] ? right : left
      const c = items[child]
      if (due[c] >= k) break
      items[i] = c
      pos[c] = i
      i = child
    }
    items[i] = j
    pos[j] = i
  }
}
