/**
 * Politeness toward a publisher's web server: at most `concurrency` requests at once and at
 * most `rate` started per second (slots spaced 1/rate apart), on an injected clock. One gate
 * per origin (scheme, host, port), shared by every source of an instance (GatePool): a
 * listing and a feed on one server share its budget, and a manifest whose .torrent files live
 * on another server spends that server's.
 *
 * Defaults: 8 in flight, 1000 started per second. The concurrency bound is what protects a
 * server (it never has more than 8 of our requests to answer, over kept-alive connections),
 * so a slow server is never pushed; the rate only caps a fast one. 1M torrents take at least
 * 17 minutes cold at that rate (a shard fetching its own share: a quarter of that with 4).
 */
import { systemClock, type Clock } from './clock.ts'

export interface GateOptions {
  /** Requests in flight at once (default 8). */
  concurrency?: number
  /** Requests started per second (default 1000). */
  rate?: number
  clock?: Clock
}

export const GATE_DEFAULTS = { concurrency: 8, rate: 1000 } as const

export class RequestGate {
  readonly concurrency: number
  readonly rate: number
  private readonly clock: Clock
  private running = 0
  private nextSlot = 0
  /** Waiting callers; `head` is the next one (Array#shift is O(n), and a first poll queues 100k). */
  private queue: Array<{ resolve: () => void, reject: (err: Error) => void }> = []
  private head = 0
  private closed = false
  private timer: unknown = null
  /** Requests started so far. */
  started = 0

  constructor (options: GateOptions = {}) {
    this.concurrency = options.concurrency ?? GATE_DEFAULTS.concurrency
    this.rate = options.rate ?? GATE_DEFAULTS.rate
    this.clock = options.clock ?? systemClock
    if (!(this.concurrency >= 1)) throw new RangeError(`concurrency must be at least 1, got ${this.concurrency}`)
    if (!(this.rate > 0)) throw new RangeError(`rate must be positive, got ${this.rate}`)
  }

  /** Runs `fn` when a slot is free; resolves or rejects with its result. */
  async run<T> (fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('request gate closed')
    await new Promise<void>((resolve, reject) => { this.queue.push({ resolve, reject }); this.pump() })
    try {
      return await fn()
    } finally {
      this.running -= 1
      this.pump()
    }
  }

  private pump (): void {
    while (this.head < this.queue.length && this.running < this.concurrency) {
      const now = this.clock.now()
      if (this.nextSlot > now) {
        if (this.timer === null) this.timer = this.clock.setTimeout(() => { this.timer = null; this.pump() }, this.nextSlot - now)
        return
      }
      this.nextSlot = Math.max(this.nextSlot, now) + 1000 / this.rate
      this.running += 1
      this.started += 1
      const next = this.queue[this.head++]
      if (this.head > 1024 && this.head * 2 > this.queue.length) { this.queue = this.queue.slice(this.head); this.head = 0 }
      next.resolve()
    }
  }

  /** Refuses queued and future requests (those running finish). */
  close (): void {
    this.closed = true
    const waiting = this.queue.slice(this.head)
    this.queue = []
    this.head = 0
    for (const q of waiting) q.reject(new Error('request gate closed'))
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
  }
}

/** One RequestGate per origin, made on first use with the same limits; closed together. */
export class GatePool {
  readonly options: GateOptions
  private readonly gates = new Map<string, RequestGate>()
  private closed = false

  constructor (options: GateOptions = {}) {
    this.options = options
    new RequestGate(options).close() // checks the limits now, not at the first request
  }

  /** The gate of `url`'s origin. */
  gateFor (url: string): RequestGate {
    const origin = new URL(url).origin
    let gate = this.gates.get(origin)
    if (!gate) {
      gate = new RequestGate(this.options)
      if (this.closed) gate.close()
      this.gates.set(origin, gate)
    }
    return gate
  }

  /** Requests started so far, over every origin. */
  get started (): number {
    let n = 0
    for (const g of this.gates.values()) n += g.started
    return n
  }

  close (): void {
    this.closed = true
    for (const g of this.gates.values()) g.close()
  }
}
