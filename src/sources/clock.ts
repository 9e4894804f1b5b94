/**
 * Time for polling and backoff, injected so tests run hours of polls in milliseconds: a
 * fake clock's `advance()` fires due timers in order, a real one is Date.now + setTimeout.
 */
export interface Clock {
  now (): number
  /** Calls `fn` after `ms`; the handle cancels it. Real timers are unref'd (they never hold the process). */
  setTimeout (fn: () => void, ms: number): unknown
  clearTimeout (handle: unknown): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout (fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms))
    t.unref?.()
    return t
  },
  clearTimeout (handle) { clearTimeout(handle as ReturnType<typeof setTimeout>) }
}

/** A clock that moves only when told: for unit tests of time-driven code. */
export class ManualClock implements Clock {
  private time: number
  private seq = 0
  private readonly timers = new Map<number, { at: number, fn: () => void }>()

  constructor (start = 1_700_000_000_000) { this.time = start }

  now (): number { return this.time }

  setTimeout (fn: () => void, ms: number): unknown {
    const id = ++this.seq
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn })
    return id
  }

  clearTimeout (handle: unknown): void { this.timers.delete(handle as number) }

  /** Timers pending now. */
  get pending (): number { return this.timers.size }

  /** When the next timer fires, or undefined. */
  nextAt (): number | undefined {
    let at: number | undefined
    for (const t of this.timers.values()) if (at === undefined || t.at < at) at = t.at
    return at
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (in due order,
   * with the clock set to each one's time), and lets promise callbacks run between them.
   */
  async advance (ms: number): Promise<void> {
    const end = this.time + ms
    for (;;) {
      await settle()
      let next: [number, { at: number, fn: () => void }] | undefined
      for (const e of this.timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e
      if (!next) break
      this.timers.delete(next[0])
      this.time = Math.max(this.time, next[1].at)
      next[1].fn()
    }
    this.time = end
    await settle()
  }
}

/** Lets queued promise callbacks (and I/O already done) run. */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
}
