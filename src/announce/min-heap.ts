/**
 * A binary min-heap ordered by a numeric key. The announce scheduler keeps one per target so
 * the next due announce is found in O(1) and re-queued in O(log n), with no timer per torrent.
 */
export class MinHeap<T> {
  private readonly items: T[] = []
  private readonly key: (item: T) => number

  constructor (key: (item: T) => number) {
    this.key = key
  }

  get size (): number { return this.items.length }

  peek (): T | undefined { return this.items[0] }

  push (item: T): void {
    const items = this.items
    items.push(item)
    let i = items.length - 1
    const k = this.key(item)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.key(items[parent]) <= k) break
      items[i] = items[parent]
      i = parent
    }
    items[i] = item
  }

  pop (): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      let i = 0
      const k = this.key(last)
      const n = items.length
      for (;;) {
        const left = 2 * i + 1
        if (left >= n) break
        const right = left + 1
        const child = right < n && this.key(items[right]) < this.key(items[left]) ? right : left
        if (this.key(items[child]) >= k) break
        items[i] = items[child]
        i = child
      }
      items[i] = last
    }
    return top
  }
}
