/**
 * A least-recently-used cache bounded by total bytes, so an instance holding 100k torrents
 * keeps only the info dicts peers are actually asking for in memory.
 *
 * A Map keeps insertion order, so re-inserting an entry makes it the newest and the first key
 * the oldest. A hit re-inserts only an entry that has fallen into the older half of the
 * cache (by insertion stamp): a hot entry is hit many times a second, and a delete + set on
 * every hit (two hash operations, a tombstone in the Map's table and a rehash every so often)
 * bought no better choice of what to evict. An entry of the newer half is at least half the
 * cache away from eviction, and it is moved to the end once it drifts past that.
 */
interface Entry {
  value: Uint8Array
  /** The insertion counter when this entry was last (re)inserted. */
  stamp: number
}

export class ByteLru {
  readonly maxBytes: number
  private readonly entries = new Map<string, Entry>()
  private used = 0
  private clock = 0

  constructor (maxBytes: number) {
    this.maxBytes = maxBytes
  }

  get bytes (): number { return this.used }
  get size (): number { return this.entries.size }

  get (key: string): Uint8Array | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    // Entries re-inserted within the last size/2 insertions stay where they are.
    if (this.clock - entry.stamp > this.entries.size >>> 1) {
      this.entries.delete(key)
      entry.stamp = ++this.clock
      this.entries.set(key, entry)
    }
    return entry.value
  }

  set (key: string, value: Uint8Array): void {
    this.delete(key)
    // An entry larger than the whole budget is served once and not kept.
    if (value.length > this.maxBytes) return
    this.entries.set(key, { value, stamp: ++this.clock })
    this.used += value.length
    for (const [oldKey, old] of this.entries) {
      if (this.used <= this.maxBytes) break
      this.entries.delete(oldKey)
      this.used -= old.value.length
    }
  }

  delete (key: string): void {
    const entry = this.entries.get(key)
    if (entry === undefined) return
    this.entries.delete(key)
    this.used -= entry.value.length
  }

  clear (): void {
    this.entries.clear()
    this.used = 0
  }
}
