/**
 * A bounded set that forgets what was used least recently, approximately (second chance, the
 * CLOCK page-replacement rule): adding a key already there only marks it used, in place. An
 * exact LRU moves the key to the end on every use, a delete and an insert in a Set, and V8's
 * ordered hash tables keep deleted entries until they are rebuilt: admission refreshed a
 * subnet that way on every metadata exchange, so at thousands of exchanges a second its table
 * was rebuilt over and over (~820 B allocated per exchange at low concurrency). Here entries
 * move only when the set is full and a newcomer needs room: the oldest entry goes unless it
 * was used since it last came round, in which case it goes to the end, unmarked.
 * Isomorphic, no timers.
 */
export class RecentSet<K> {
  /** Key -> used since it was (re)inserted. Insertion order is the clock's hand. */
  private readonly keys = new Map<K, boolean>()
  readonly max: number

  constructor (max: number) {
    if (!(max >= 1)) throw new RangeError(`RecentSet needs room for at least one key, got ${max}`)
    this.max = max
  }

  get size (): number { return this.keys.size }

  has (key: K): boolean { return this.keys.has(key) }

  /** Adds `key`, or marks it used when it is there. */
  add (key: K): void {
    const keys = this.keys
    if (keys.has(key)) {
      if (keys.get(key) === false) keys.set(key, true)
      return
    }
    while (keys.size >= this.max) {
      const [oldest, used] = keys.entries().next().value!
      keys.delete(oldest)
      if (!used) break
      keys.set(oldest, false)
    }
    keys.set(key, false)
  }
}
