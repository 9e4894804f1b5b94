/**
 * A budget of operations per second, overall and per source: token buckets refilled lazily
 * from an injected clock. Used for Diffie-Hellman work (MSE), which a peer can make us do
 * by sending 96 bytes of garbage, and for evictions of connections that did nothing (which
 * may put a source into debt, see charge()). The per-source table is bounded: when full, the entries
 * that have refilled completely (they carry no information) are dropped, then the oldest.
 */

interface Bucket { tokens: number, last: number }

export interface BudgetOptions {
  /** Operations per second overall (also the burst). */
  perSecond: number
  /** Operations per second from one source (also the burst). */
  perSourcePerSecond: number
  /** Sources tracked at most. */
  maxSources?: number
}

export class OperationBudget {
  private readonly options: Required<BudgetOptions>
  private readonly now: () => number
  private readonly total: Bucket
  private readonly sources = new Map<string, Bucket>()

  constructor (options: BudgetOptions, now: () => number) {
    this.options = { maxSources: 4096, ...options }
    this.now = now
    this.total = { tokens: options.perSecond, last: now() }
  }

  /** Spends one operation for `source`; returns which budget is exhausted, or null when allowed. */
  take (source: string | undefined): 'total' | 'source' | null {
    const t = this.now()
    refill(this.total, t, this.options.perSecond)
    if (this.total.tokens < 1) return 'total'
    if (source !== undefined) {
      const b = this.bucketOf(source, t)
      if (b.tokens < 1) return 'source'
      b.tokens -= 1
    }
    this.total.tokens -= 1
    return null
  }

  /**
   * Charges `source` one operation that happened anyway (it cannot be refused: a connection
   * was already evicted), going into debt down to minus one second of its budget, so a source
   * charged faster than it refills stays exhausted for as long as it keeps that up (plus at
   * most a second) instead of getting a token back every 1/rate s.
   */
  charge (source: string): void {
    const b = this.bucketOf(source, this.now())
    b.tokens = Math.max(-this.options.perSourcePerSecond, b.tokens - 1)
  }

  /** `source`'s bucket refilled to time `t`, or a full new one (pruning first at `maxSources`). */
  private bucketOf (source: string, t: number): Bucket {
    let b = this.sources.get(source)
    if (b) refill(b, t, this.options.perSourcePerSecond)
    else {
      if (this.sources.size >= this.options.maxSources) this.prune(t)
      b = { tokens: this.options.perSourcePerSecond, last: t }
      this.sources.set(source, b)
    }
    return b
  }

  /** Whether `source` has spent its budget (nothing is spent or recorded by asking). */
  exhausted (source: string): boolean {
    const b = this.sources.get(source)
    if (!b) return false
    refill(b, this.now(), this.options.perSourcePerSecond)
    return b.tokens < 1
  }

  get trackedSources (): number { return this.sources.size }

  private prune (t: number): void {
    for (const [key, b] of this.sources) {
      refill(b, t, this.options.perSourcePerSecond)
      if (b.tokens >= this.options.perSourcePerSecond) this.sources.delete(key)
    }
    while (this.sources.size >= this.options.maxSources) this.sources.delete(this.sources.keys().next().value!)
  }
}

function refill (b: Bucket, t: number, rate: number): void {
  if (t > b.last) {
    b.tokens = Math.min(rate, b.tokens + (t - b.last) * rate / 1000)
    b.last = t
  }
}
