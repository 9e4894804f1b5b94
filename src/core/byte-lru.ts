/**
 * A least-recently-used cache bounded by total bytes, so an instance holding 100k torrents
 * keeps only the info dicts peers are actually asking for in memory.
 * A Map keeps insertion order, so re-inserting on hit makes the first key the oldest.
 */
export class ByteLru {
  readonly maxBytes: number
  private readonly entries = new Map<string, Uint8Array>()
  private used = 0

  constructor (maxBytes: number) {
    this.maxBytes = maxBytes
  }

  get bytes (): number { return this.used }
  get size (): number { return this.entries.size }

  get (key: string): Uint8Array | undefined {
    const value = this.entries.get(key)
    if (value === undefined) return undefined
    this.entries.delete(key)
    this.entries.set(key, value)
    return value
  }

  set (key: string, value: Uint8Array): void {
    this.delete(key)
    // An entry larger than the whole budget is served once and not kept.
    if (value.length > this.maxBytes) return
    this.entries.set(key, value)
    this.used += value.length
    for (const [oldKey, oldValue] of this.entries) {
      if (this.used <= this.maxBytes) break
      this.entries.delete(oldKey)
      this.used -= oldValue.length
    }
  }

  delete (key: string): void {
    const value = this.entries.get(key)
    if (value === undefined) return
    this.entries.delete(key)
    this.used -= value.length
  }

  clear (): void {
    this.entries.clear()
    this.used = 0
  }
}
