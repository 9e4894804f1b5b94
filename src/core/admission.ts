/**
 * Admission under pressure: who gets a connection slot when the table is full.
 *
 * A connection that has not completed its handshake ("half-open") costs an attacker
 * nothing: silent TCP connections, a handshake dripped one byte every two seconds, a spoofed
 * uTP SYN. Refusing newcomers while such connections hold every slot locks real leechers
 * out (libtorrent does that too). The policy instead:
 * - a newcomer at the limit evicts the oldest half-open uTP connection (SYNs are spoofable);
 *   else the oldest half-open TCP connection while there are more of them than one batch of
 *   newcomers; else, of that and the oldest handshaken connection with nothing left to ask
 *   (it never asked for metadata, or it has all of it), the one stalled longer; else the
 *   connection idle longest with nothing outstanding;
 * - half-open uTP connections hold at most a share of the table, so a SYN flood only ever
 *   displaces other uTP SYNs, never TCP leechers;
 * - half-open connections per IP and per subnet (/24, /64) are capped, the oldest of that
 *   group making room, so one network cannot occupy the table by itself;
 * - the pre-handshake deadline shortens when the table is half full;
 * - every TCP connection evicted or timed out for having done nothing (still half-open, or
 *   handshaken with nothing to ask) is charged to its subnet; a subnet charged more than its
 *   budget has its newcomers refused while the table is at least half full, and the transport
 *   can ask `wouldRefuse` before it builds anything for a connection, so a flood that
 *   reconnects as fast as it is evicted is refused for the price of an accept instead of being
 *   admitted and evicted again.
 * A correct leecher handshakes within a round trip and asks for metadata within the next, so
 * it has never been stalled longest: a flood of silent connections or of complete handshakes
 * that then say nothing only ever displaces itself, however fast it churns.
 *
 * Isomorphic, no timers: time comes from an injected clock, the owner runs the sweeps.
 */
import { normalizeAddress, subnetOf } from './admission-address.ts'
import { OperationBudget } from './admission-budget.ts'
import { RecentSet } from './recent-set.ts'
import { ADMISSION_DEFAULTS, type AdmissionOptions } from './admission-options.ts'

/** What admission needs to know about a connection. */
export interface Admittable {
  readonly info: { readonly transport: string, readonly remoteAddress?: string }
  readonly createdAt: number
  readonly lastActivity: number
  readonly isHandshaken: boolean
  /** True while the peer has a request outstanding (it must not be evicted as idle). */
  readonly isBusy: boolean
  /** Why it closed, once it has (read when it is removed: a protocol fault charges its subnet). */
  readonly closed?: { readonly reason: string }
}

/**
 * Close reasons that say the remote party broke the protocol, which a correct peer never does:
 * each one, on an incoming TCP connection, charges its subnet's fault budget.
 */
export const FAULT_REASONS: ReadonlySet<string> = new Set([
  'message-too-large', 'protocol-error', 'bad-extension-message', 'metadata-overfetch', 'request-flood', 'bad-encryption', 'not-bittorrent'
])

/** Why a connection was chosen to make room (for its close message). */
export type EvictionKind = 'half-open' | 'unproductive' | 'idle'

/** Subnets served an info dict, remembered at most (the least recently served forgotten first, see recent-set.ts). */
const SERVED_SUBNETS_KEPT = 4096

export type AdmissionVerdict<T> =
  | { admit: true, evict: T[] }
  | { admit: false, reason: string, message: string }

/** A refusal of a Diffie-Hellman operation. */
export interface KeyExchangeRefusal { reason: string, message: string }

export class Admission<T extends Admittable> {
  readonly options: Required<AdmissionOptions>
  private readonly now: () => number
  private readonly all = new Set<T>()
  /** Half-open connections, oldest first (a Set iterates in insertion order). */
  private readonly halfOpen = new Set<T>()
  private readonly halfOpenUtp = new Set<T>()
  /**
   * Handshaken connections with nothing left to ask, in the order they got there: they never
   * asked for metadata yet, or they have all of it. Leaves on the first request (and comes
   * back at the end once everything was served).
   */
  private readonly unproductive = new Set<T>()
  /** Connections served everything they asked: evicting one charges nobody (it was useful). */
  private readonly served = new Set<T>()
  /**
   * What admission keeps per connection, in one record (its address key, since when it has had
   * nothing to ask), and per-address counts rather than a Set of connections per IP and per
   * subnet: under a flood every connection's bookkeeping is allocated and dropped within
   * milliseconds, and what is still alive at a scavenge is copied, then promoted to the old
   * generation, which an idle server does not collect (docs/hostile.md). The oldest half-open
   * connection of one IP or subnet, needed only when its cap is reached, is found by walking
   * the half-open list instead.
   */
  private readonly entries = new Map<T, Entry>()
  /**
   * Open and half-open connections per IP and per subnet, one mutable record each, kept while
   * any connection of that address is open: a count that leaves and re-enters a Map with every
   * handshake would make V8 reallocate the Map's table each time it empties.
   */
  private readonly byIp = new Map<string, Counts>()
  private readonly bySubnet = new Map<string, Counts>()
  /** The last address keyed: wouldRefuse, admit and add ask for the same one in a row. */
  private lastAddress: string | undefined
  private lastKey: AddressKey | null = null
  private readonly victims = new Set<T>()
  /** Subnets a connection was served everything from (bounded, the least recently served dropped first). */
  private readonly servedSubnets = new RecentSet<string>(SERVED_SUBNETS_KEPT)
  private readonly keyExchanges: OperationBudget
  /** Evictions of TCP connections that had done nothing, per subnet of the evicted connection. */
  private readonly churn: OperationBudget
  /** Incoming TCP connections closed for a protocol fault, per subnet. */
  private readonly faults: OperationBudget
  /** Whether any fault was ever charged (the common case asks nothing of the fault budget). */
  private faulted = false

  constructor (options: AdmissionOptions, now: () => number) {
    this.options = { idlePerNewSubnet: ADMISSION_DEFAULTS.idlePerNewSubnet, faultsPerSubnetPerSecond: ADMISSION_DEFAULTS.faultsPerSubnetPerSecond, ...options, pressureHandshakeTimeoutMs: Math.min(options.pressureHandshakeTimeoutMs, options.handshakeTimeoutMs) }
    this.now = now
    this.keyExchanges = new OperationBudget({
      perSecond: options.keyExchangesPerSecond,
      perSourcePerSecond: options.keyExchangesPerSubnetPerSecond
    }, now)
    this.churn = new OperationBudget({
      perSecond: Number.MAX_SAFE_INTEGER,
      perSourcePerSecond: options.unproductivePerSubnetPerSecond
    }, now)
    this.faults = new OperationBudget({
      perSecond: Number.MAX_SAFE_INTEGER,
      perSourcePerSecond: this.options.faultsPerSubnetPerSecond
    }, now)
  }

  get size (): number { return this.all.size }
  get halfOpenCount (): number { return this.halfOpen.size + this.halfOpenUtp.size }
  get utpHalfOpenLimit (): number { return Math.max(1, Math.floor(this.options.connectionLimit * this.options.utpHalfOpenShare)) }

  /** Every admitted connection, oldest first. */
  connections (): IterableIterator<T> { return this.all.values() }

  /** Half-open connections, uTP ones first, each group oldest first. */
  * halfOpenConnections (): IterableIterator<T> {
    yield * this.halfOpenUtp
    yield * this.halfOpen
  }

  /** Whether half-open uTP connections hold their whole share: a uTP newcomer would displace one. */
  get utpHalfOpenFull (): boolean { return this.halfOpenUtp.size >= this.utpHalfOpenLimit }

  /** Whether the table is at least half full: deadlines shorten. */
  get underPressure (): boolean { return this.all.size * 2 >= this.options.connectionLimit }

  /** How long a connection may stay half-open now. */
  handshakeDeadlineMs (): number {
    return this.underPressure ? this.options.pressureHandshakeTimeoutMs : this.options.handshakeTimeoutMs
  }

  /**
   * Decides on a newcomer. On admit, the caller closes every connection in `evict` (each
   * one's close calls remove()), then calls add(conn). Evicting a TCP connection that had
   * done nothing charges its subnet's churn budget.
   */
  admit (conn: T): AdmissionVerdict<T> {
    return this.decide(conn.info.transport, conn.info.remoteAddress, true)
  }

  /**
   * Whether a newcomer from `address` would be refused now, and why: what admit() would answer,
   * without charging anything. Lets a transport refuse a connection before it builds a socket
   * object, a session or a Wire for it: a flood that reconnects as fast as it is evicted would
   * otherwise cost a socket, a session (a Wire and a reply for complete handshakes) and a close
   * per connection.
   */
  wouldRefuse (transport: string, address: string | undefined): { reason: string, message: string } | null {
    // Nothing but a faulty network is refused below half the limit: skip the work for the common case.
    if (!this.underPressure && address !== undefined && !this.faulted &&
      (this.byIp.get(this.keyFor(address)!.ip)?.open ?? 0) < this.options.perIpLimit) return null
    const verdict = this.decide(transport, address, false)
    return verdict.admit ? null : { reason: verdict.reason, message: verdict.message }
  }

  /** Whether a connection from `address`'s subnet was served everything here (among the last remembered). */
  servedNetwork (address: string | undefined): boolean {
    if (this.servedSubnets.size === 0) return false
    const key = this.keyFor(address)
    return key !== null && this.servedSubnets.has(key.subnet)
  }

  private decide (transport: string, address: string | undefined, charge: boolean): AdmissionVerdict<T> {
    const key = this.keyFor(address)
    const utp = transport === 'utp'
    // One Set for every decision (decide is synchronous): most newcomers evict nobody.
    const evict = this.victims
    if (evict.size > 0) evict.clear()
    if (key && !utp && this.faulted && this.faults.exhausted(key.subnet)) {
      return { admit: false, reason: 'faulty-network', message: `${key.subnet} keeps breaking the protocol (more than ${this.options.faultsPerSubnetPerSecond} connections a second closed for it)` }
    }
    if (key && !utp && this.underPressure) {
      const idle = this.bySubnet.get(key.subnet)?.idle ?? 0
      if (idle >= this.options.idlePerNewSubnet && !this.servedSubnets.has(key.subnet)) {
        return { admit: false, reason: 'unknown-network', message: `${key.subnet} has ${idle} connections that have done nothing yet and was never served here, while the table is at least half full` }
      }
    }
    if (key) {
      if ((this.byIp.get(key.ip)?.open ?? 0) >= this.options.perIpLimit) {
        const victim = this.oldestHalfOpenOf(key, 'ip', evict)
        if (!victim) return { admit: false, reason: 'per-ip-limit', message: `${this.options.perIpLimit} connections open from ${key.ip}` }
        evict.add(victim)
      }
      const ipHalf = this.byIp.get(key.ip)?.halfOpen ?? 0
      if (ipHalf > 0 && ipHalf - this.countOf(key, 'ip', evict) >= this.options.halfOpenPerIp) evict.add(this.oldestHalfOpenOf(key, 'ip', evict)!)
      const netHalf = this.bySubnet.get(key.subnet)?.halfOpen ?? 0
      if (netHalf > 0 && netHalf - this.countOf(key, 'subnet', evict) >= this.options.halfOpenPerSubnet) evict.add(this.oldestHalfOpenOf(key, 'subnet', evict)!)
    }
    // A network that churns through the table is refused as soon as the table is half full,
    // not only at the limit: slots freed by deadlines would otherwise go to the same flood.
    if (key && this.underPressure && this.churn.exhausted(key.subnet)) {
      return { admit: false, reason: 'unproductive-network', message: `${key.subnet} keeps opening connections that do nothing (more than ${this.options.unproductivePerSubnetPerSecond} evicted or timed out a second) while the table is at least half full` }
    }
    if (utp && this.halfOpenUtp.size - countIn(this.halfOpenUtp, evict) >= this.utpHalfOpenLimit) {
      evict.add(firstNotIn(this.halfOpenUtp, evict)!)
    }
    if (this.all.size - evict.size >= this.options.connectionLimit) {
      // uTP newcomers may displace only uTP half-opens or idle peers: a spoofed SYN must
      // never push out a TCP connection that is still handshaking.
      const victim = firstNotIn(this.halfOpenUtp, evict) ?? (utp ? undefined : this.stalledLongest(evict)) ?? this.idlest(evict)
      if (!victim) {
        return { admit: false, reason: 'connection-limit', message: `${this.options.connectionLimit} connections open, none half-open or idle` }
      }
      evict.add(victim)
    }
    if (charge) for (const victim of evict) this.chargeChurn(victim)
    return { admit: true, evict: evict.size === 0 ? NO_VICTIMS : [...evict] }
  }

  /** The address's IP and subnet keys (the last one is remembered: asked for three times in a row). */
  private keyFor (address: string | undefined): AddressKey | null {
    if (address === undefined) return null
    if (address !== this.lastAddress || this.lastKey === null) {
      this.lastAddress = address
      this.lastKey = { ip: normalizeAddress(address), subnet: subnetOf(address) }
    }
    return this.lastKey
  }

  /** The oldest half-open connection from key's IP (or subnet) not in `exclude`, uTP ones first. */
  private oldestHalfOpenOf (key: AddressKey, by: 'ip' | 'subnet', exclude: Set<T>): T | undefined {
    for (const set of [this.halfOpenUtp, this.halfOpen]) {
      for (const c of set) {
        if (exclude.has(c)) continue
        const e = this.entries.get(c)
        if (e?.key && e.key[by] === key[by]) return c
      }
    }
    return undefined
  }

  /** How many of `among` are half-open connections from key's IP (or subnet). */
  private countOf (key: AddressKey, by: 'ip' | 'subnet', among: Set<T>): number {
    let n = 0
    for (const c of among) {
      const e = this.entries.get(c)
      if (e?.key && e.key[by] === key[by] && (this.halfOpen.has(c) || this.halfOpenUtp.has(c))) n++
    }
    return n
  }

  /**
   * A victim that had done nothing (half-open, or handshaken and never asked) costs its subnet
   * one token of churn; one that was served everything it asked did something. Only TCP: its address
   * took a three-way handshake to claim, while a uTP SYN's can be spoofed (charging it would let
   * anyone get a leecher's network refused).
   */
  private chargeChurn (victim: T): void {
    if (victim.info.transport !== 'tcp') return
    if (victim.isHandshaken && (!this.unproductive.has(victim) || this.served.has(victim))) return
    const key = this.entries.get(victim)?.key
    if (key) this.churn.charge(key.subnet)
  }

  add (conn: T): void {
    if (this.all.has(conn)) return
    const key = this.keyFor(conn.info.remoteAddress)
    // Only TCP counts as idle for its subnet: a uTP SYN's address can be spoofed.
    const idle = conn.info.transport !== 'utp'
    this.entries.set(conn, { key, since: 0, idle })
    this.all.add(conn)
    const half = !conn.isHandshaken
    if (key) {
      opened(this.byIp, key.ip, half, false)
      opened(this.bySubnet, key.subnet, half, idle)
    }
    if (half) (conn.info.transport === 'utp' ? this.halfOpenUtp : this.halfOpen).add(conn)
  }

  /**
   * The connection completed its handshake: it leaves the half-open groups and, until it
   * asks for something, counts as having nothing to ask.
   */
  handshaken (conn: T): void {
    if (!this.all.has(conn)) return
    this.leaveHalfOpen(conn)
    this.unproductive.add(conn)
    this.entries.get(conn)!.since = this.now()
  }

  /** The connection asked for metadata it does not have yet: it is doing what a leecher does. */
  asked (conn: T): void {
    this.unproductive.delete(conn)
    this.busied(conn)
  }

  /** Everything was served to the connection: once idle it may make room first. */
  satisfied (conn: T): void {
    if (!this.all.has(conn)) return
    this.served.add(conn)
    this.unproductive.delete(conn)
    this.unproductive.add(conn)
    this.entries.get(conn)!.since = this.now()
    this.busied(conn)
    const subnet = this.entries.get(conn)!.key?.subnet
    if (subnet !== undefined) this.servedSubnets.add(subnet)
  }

  /** The connection did something (asked, or was served): it no longer counts as idle for its subnet. */
  private busied (conn: T): void {
    const e = this.entries.get(conn)
    if (!e?.idle) return
    e.idle = false
    if (e.key) this.bySubnet.get(e.key.subnet)!.idle -= 1
  }

  /** How a connection would be described as a victim now. */
  kindOf (conn: T): EvictionKind {
    if (!conn.isHandshaken) return 'half-open'
    return this.unproductive.has(conn) ? 'unproductive' : 'idle'
  }

  remove (conn: T): void {
    if (!this.all.delete(conn)) return
    this.leaveHalfOpen(conn)
    this.unproductive.delete(conn)
    this.served.delete(conn)
    const e = this.entries.get(conn)
    const key = e?.key
    this.entries.delete(conn)
    if (key) {
      if (e.idle) this.bySubnet.get(key.subnet)!.idle -= 1
      if (conn.closed !== undefined && FAULT_REASONS.has(conn.closed.reason) && conn.info.transport === 'tcp') {
        this.faulted = true
        this.faults.charge(key.subnet)
      }
      closed(this.byIp, key.ip)
      closed(this.bySubnet, key.subnet)
    }
  }

  /**
   * Half-open connections past their deadline now, oldest first; the caller closes each one.
   * Half-open uTP connections also get the short deadline once they hold their whole share:
   * the transport ignores new SYNs then, so the sooner stale ones go, the sooner a real uTP
   * leecher gets in. Each TCP one yielded charges its subnet's churn budget, as an eviction
   * does: it held a slot and did nothing (refusals keep the table full longer, so under a flood
   * more connections end at the deadline than evicted).
   */
  * expiredHalfOpen (): IterableIterator<T> {
    const now = this.now()
    const utpDeadline = this.utpHalfOpenFull ? this.options.pressureHandshakeTimeoutMs : this.handshakeDeadlineMs()
    for (const [set, deadline] of [[this.halfOpenUtp, utpDeadline], [this.halfOpen, this.handshakeDeadlineMs()]] as const) {
      const cutoff = now - deadline
      for (const c of set) {
        if (c.createdAt > cutoff) break // insertion order is creation order
        this.chargeChurn(c)
        yield c
      }
    }
  }

  /**
   * Spends one Diffie-Hellman operation for a connection from `address`; returns why it is
   * refused when the budget overall or of its subnet is spent.
   */
  admitKeyExchange (address: string | undefined): KeyExchangeRefusal | null {
    const subnet = address === undefined ? undefined : subnetOf(address)
    const spent = this.keyExchanges.take(subnet)
    if (spent === 'total') return { reason: 'mse-budget', message: `more than ${this.options.keyExchangesPerSecond} encrypted handshakes a second` }
    if (spent === 'source') return { reason: 'mse-budget', message: `more than ${this.options.keyExchangesPerSubnetPerSecond} encrypted handshakes a second from ${subnet}` }
    return null
  }

  private leaveHalfOpen (conn: T): void {
    if (!this.halfOpen.delete(conn) && !this.halfOpenUtp.delete(conn)) return
    const key = this.entries.get(conn)?.key
    if (key) {
      this.byIp.get(key.ip)!.halfOpen -= 1
      this.bySubnet.get(key.subnet)!.halfOpen -= 1
    }
  }

  /**
   * How many of the newest half-open connections may be a burst of newcomers whose first
   * bytes are simply not read yet: accepts come in batches, and a batch is read on the next
   * turn of the event loop, later still when the process is busy.
   */
  get newcomerBatch (): number { return Math.max(16, Math.floor(this.options.connectionLimit / 8)) }

  /**
   * A half-open TCP connection or a handshaken one with nothing to ask, whichever has been
   * stalled longer (since it connected; since its handshake or its last piece). Two things
   * this must never do under a churn of newcomers: let silent connections displace a leecher
   * that handshook a moment ago (so while more half-opens are open than one batch of
   * newcomers, the oldest of them goes), and let handshakes that then say nothing displace a
   * leecher whose first bytes are still unread (so within one batch, the connection with
   * nothing to ask goes first unless it is the younger). TCP newcomers only: a spoofed uTP
   * SYN never displaces a TCP connection.
   */
  private stalledLongest (exclude: Set<T>): T | undefined {
    let half: T | undefined
    for (const c of this.halfOpen) if (!exclude.has(c)) { half = c; break }
    let quiet: T | undefined
    for (const c of this.unproductive) if (!c.isBusy && !exclude.has(c)) { quiet = c; break }
    if (!half || !quiet) return half ?? quiet
    if (this.halfOpen.size - countIn(this.halfOpen, exclude) > this.newcomerBatch) return half
    return half.createdAt < this.entries.get(quiet)!.since ? half : quiet
  }

  /** The handshaken connection quiet longest with nothing outstanding, if quiet long enough. */
  private idlest (exclude: Set<T>): T | undefined {
    const cutoff = this.now() - this.options.evictIdleAfterMs
    let best: T | undefined
    for (const c of this.all) {
      if (!c.isHandshaken || c.isBusy || exclude.has(c) || c.lastActivity > cutoff) continue
      if (!best || c.lastActivity < best.lastActivity) best = c
    }
    return best
  }
}

interface AddressKey { readonly ip: string, readonly subnet: string }

interface Entry {
  readonly key: AddressKey | null
  /** When it last got to having nothing to ask (handshaken, or served everything). */
  since: number
  /** A TCP connection that has neither asked for anything nor been served yet (counted in its subnet's `idle`). */
  idle: boolean
}

/** The shared empty eviction list (most newcomers evict nobody). */
const NO_VICTIMS: never[] = []

function firstNotIn<T> (set: Iterable<T>, exclude: Set<T>): T | undefined {
  for (const c of set) if (!exclude.has(c)) return c
  return undefined
}

function countIn<T> (set: Set<T>, evict: Set<T>): number {
  let n = 0
  for (const c of evict) if (set.has(c)) n++
  return n
}

/** `idle`: TCP connections that have neither asked nor been served yet (counted per subnet only). */
interface Counts { open: number, halfOpen: number, idle: number }

function opened (map: Map<string, Counts>, key: string, halfOpen: boolean, idle: boolean): void {
  const c = map.get(key)
  if (c) {
    c.open += 1
    if (halfOpen) c.halfOpen += 1
    if (idle) c.idle += 1
  } else map.set(key, { open: 1, halfOpen: halfOpen ? 1 : 0, idle: idle ? 1 : 0 })
}

/** One connection of `key` closed (it has left the half-open count already). */
function closed (map: Map<string, Counts>, key: string): void {
  const c = map.get(key)
  if (!c) return
  if (--c.open <= 0) map.delete(key)
}
