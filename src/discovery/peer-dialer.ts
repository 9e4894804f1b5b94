/**
 * Outgoing connections to peers that discovery finds, so a torrent-fish behind NAT still
 * reaches leechers: once connected, the leecher asks us for metadata as if it had dialed.
 * We still never request pieces (the core refuses to).
 *
 * Bounded everywhere: a queue of candidates (oldest dropped), dials at once, outgoing
 * connections open at once, and a memory of recent addresses with exponential backoff so a
 * peer seen in every announce is not dialed again and again.
 */
import { backoffDelay } from '../util/backoff.ts'
import { parseHostPort } from '../util/address.ts'

export interface DialFn {
  (host: string, port: number, infoHash: string): Promise<{ id: number, closed?: unknown }>
}

export interface PeerDialerOptions {
  /** Dials in progress at once (default 8). */
  maxDialing?: number
  /** Outgoing connections open at once (default 64). */
  maxOpen?: number
  /** Candidates waiting, at most; the oldest are dropped (default 1000). */
  maxQueue?: number
  /** Addresses remembered for backoff (default 10000). */
  maxRemembered?: number
  /** Wait before dialing a peer again after a connection that worked (default 10 min). */
  redialAfterMs?: number
  /** Backoff base after a failed dial (default 60 s, doubling, up to 1 h). */
  retryBaseMs?: number
  retryMaxMs?: number
  /** Addresses that are us: never dialed. */
  isSelf?: (host: string, port: number) => boolean
  now?: () => number
}

interface Candidate { host: string, port: number, infoHash: string, key: string }
interface Memory { notBefore: number, failures: number }

export interface DialerStats {
  queued: number
  dialing: number
  open: number
  dialed: number
  failed: number
  skipped: number
}

/** Parses `host:port` / `[v6]:port`; undefined for anything else. */
export const parsePeerAddress = parseHostPort

export class PeerDialer {
  private readonly dial: DialFn
  private readonly opts: Required<Omit<PeerDialerOptions, 'isSelf'>> & { isSelf?: (host: string, port: number) => boolean }
  private readonly queue: Candidate[] = []
  private readonly queued = new Set<string>()
  private readonly memory = new Map<string, Memory>()
  private readonly openIds = new Set<number>()
  private dialing = 0
  private closedFlag = false
  private readonly counters = { dialed: 0, failed: 0, skipped: 0 }
  /** Errors from dials, for the caller to log (rarely interesting one by one). */
  onError: ((err: unknown, candidate: { host: string, port: number, infoHash: string }) => void) | null = null

  constructor (dial: DialFn, options: PeerDialerOptions = {}) {
    this.dial = dial
    this.opts = {
      maxDialing: options.maxDialing ?? 8,
      maxOpen: options.maxOpen ?? 64,
      maxQueue: options.maxQueue ?? 1000,
      maxRemembered: options.maxRemembered ?? 10_000,
      redialAfterMs: options.redialAfterMs ?? 10 * 60_000,
      retryBaseMs: options.retryBaseMs ?? 60_000,
      retryMaxMs: options.retryMaxMs ?? 3600_000,
      now: options.now ?? Date.now,
      isSelf: options.isSelf
    }
  }

  /** Offers peers learned for a torrent; the ones worth dialing are queued. */
  add (infoHash: string, peers: Iterable<string>): void {
    if (this.closedFlag) return
    const now = this.opts.now()
    for (const addr of peers) {
      const parsed = parsePeerAddress(addr)
      if (!parsed || this.opts.isSelf?.(parsed.host, parsed.port)) { this.counters.skipped += 1; continue }
      const key = `${parsed.host}:${parsed.port}:${infoHash}`
      const mem = this.memory.get(key)
      if (this.queued.has(key) || (mem && mem.notBefore > now)) { this.counters.skipped += 1; continue }
      this.queue.push({ ...parsed, infoHash, key })
      this.queued.add(key)
      if (this.queue.length > this.opts.maxQueue) {
        const dropped = this.queue.shift()!
        this.queued.delete(dropped.key)
        this.counters.skipped += 1
      }
    }
    this.pump()
  }

  /** Tells the dialer a connection it opened has closed (frees a slot). */
  connectionClosed (id: number): void {
    if (this.openIds.delete(id)) this.pump()
  }

  stats (): DialerStats {
    return { queued: this.queue.length, dialing: this.dialing, open: this.openIds.size, ...this.counters }
  }

  private remember (key: string, memory: Memory): void {
    this.memory.delete(key) // re-insert: Map order doubles as least-recently-used order
    this.memory.set(key, memory)
    if (this.memory.size > this.opts.maxRemembered) this.memory.delete(this.memory.keys().next().value!)
  }

  private pump (): void {
    while (!this.closedFlag && this.queue.length > 0 && this.dialing < this.opts.maxDialing && this.dialing + this.openIds.size < this.opts.maxOpen) {
      const c = this.queue.shift()!
      this.queued.delete(c.key)
      const prior = this.memory.get(c.key)
      this.dialing += 1
      this.counters.dialed += 1
      this.dial(c.host, c.port, c.infoHash).then(conn => {
        this.dialing -= 1
        this.remember(c.key, { notBefore: this.opts.now() + this.opts.redialAfterMs, failures: 0 })
        if (!conn.closed && !this.closedFlag) this.openIds.add(conn.id)
        this.pump()
      }, err => {
        this.dialing -= 1
        this.counters.failed += 1
        const failures = (prior?.failures ?? 0) + 1
        this.remember(c.key, { notBefore: this.opts.now() + backoffDelay(failures, { baseMs: this.opts.retryBaseMs, maxMs: this.opts.retryMaxMs }), failures })
        this.onError?.(err, c)
        this.pump()
      })
    }
  }

  close (): void {
    this.closedFlag = true
    this.queue.length = 0
    this.queued.clear()
  }
}
