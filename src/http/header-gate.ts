/**
 * The HTTP face's first stage: until a request's header block is in, a connection is a bare
 * TCP handle read into a few small buffers (adapters/node-tcp-handle.ts), not a net.Socket
 * with an HTTP parser. Once the blank line that ends the headers has arrived (or more bytes
 * than a header block may hold), the handle and every byte read so far go to node:http, as if
 * the connection had just been accepted.
 *
 * Why: a slow-header flood (slowloris) holds thousands of connections that never finish their
 * headers. Each one node:http serves costs a socket and a parser to build and as much again to
 * close, all on the thread that also answers BitTorrent leechers: 2,000 such connections
 * arriving, or closing, together held the event loop for ~100 ms (docs/hostile.md). As bare
 * handles they cost an accept, a read per byte sent and a close.
 *
 * Admission, as the peer's (core/admission.ts) for the BitTorrent side: per address and per
 * network (/24, /64) caps on connections still sending headers, refused at accept before
 * anything is built; past the global cap a newcomer evicts the oldest of them; every header
 * block has a deadline, shorter while more than half the cap is in use. A request that sends
 * its headers at once (every real client) is handed over in the turn its first bytes arrive,
 * unless more than `handOversPerTurn` finished in that turn: then it waits, paused, for the
 * next (a burst of thousands would otherwise hold the thread for all of them at once).
 *
 * The gate also applies the caps on what node:http holds afterwards (served-connections.ts),
 * at accept and again at hand-over.
 */
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { ServedConnections } from './served-connections.ts'
import { bumpCount } from '../util/count-map.ts'
import { gateAccepts } from '../transport/tcp-accept-gate.ts'
import { tcpHandleStream, tcpHandleStreamsAvailable, type TcpHandleStream } from '../adapters/node-tcp-handle.ts'
import { normalizeAddress, subnetOf } from '../core/admission-address.ts'
import { systemClock, type Clock, type TimerHandle } from '../util/clock.ts'
import { resolveOptions, integerIn, anything, isFunction, type OptionSpec } from '../util/options.ts'

export interface HeaderGateOptions {
  /** Connections still sending their headers, at most; past it a newcomer evicts the oldest. */
  maxPending: number
  /** ... from one address (past it, a newcomer from there is refused). */
  perAddress: number
  /** ... from one IPv4 /24 or IPv6 /64. */
  perNetwork: number
  /** Time for a whole header block, from accept. */
  headersTimeoutMs: number
  /** The same while more than half of `maxPending` is in use. */
  pressuredTimeoutMs: number
  /** Bytes after which a connection goes to node:http even without the end of its headers (it answers 431). */
  maxHeaderBytes: number
  /** Bytes held for all of them together; past it the oldest are closed. */
  maxBufferedBytes: number
  /** Connections node:http holds (headers handed over, keep-alive), at most. */
  maxServed: number
  /** ... from one address. */
  servedPerAddress: number
  /** Connections handed to node:http in one turn of the event loop, at most; the rest wait, paused, for the next turns. */
  handOversPerTurn: number
  clock: Clock
  /** Told of each connection taken, handed over or closed here (tests wait on it; logs may). */
  observe: (event: HeaderGateEvent) => void
}

/** Defaults of {@link HeaderGateOptions}, each with its reason. */
export const HEADER_GATE_DEFAULTS: HeaderGateOptions = {
  /**
   * A handle costs an fd, a few KiB of kernel socket and ~300 bytes here: 4,096 of them are
   * ~12 MiB and 6% of the service unit's fd limit. Past it every newcomer evicts one, and a
   * flood that reconnects at once keeps both churning (~50 us each), so the cap sits above
   * the slow-header floods a small instance is tested with (2,000 connections).
   */
  maxPending: 4096,
  /** A browser opens up to 6 connections per host; a proxy in front of many users more. */
  perAddress: 16,
  perNetwork: 128,
  /** node:http's own headersTimeout in this face. */
  headersTimeoutMs: 10_000,
  /** A real client's headers arrive in one packet: seconds are generous. */
  pressuredTimeoutMs: 2_000,
  /** node:http's default maxHeaderSize. */
  maxHeaderBytes: 16 * 1024,
  /**
   * A real client's headers are handed over in the read they arrive in, so what is held is a
   * flood's: without this, 4,096 connections of 16 KiB each would hold 64 MiB.
   */
  maxBufferedBytes: 8 * 1024 * 1024,
  /**
   * A served connection is a net.Socket and an HTTP parser (~10-20 KiB) plus whatever reply it
   * still holds; 1,024 of them is what a small instance's face needs (a status page, a
   * /metrics scraper, .torrent downloads); at the cap the rule of served-connections.ts applies.
   */
  maxServed: 1024,
  /** Twice the pending cap: a browser keeps up to 6 alive, a proxy in front of many users more. */
  servedPerAddress: 32,
  /**
   * node:http's work for a connection and its first request is ~150-200 us here: 2,000 finished
   * header blocks in one turn held the thread ~300 ms, with every BitTorrent leecher waiting
   * behind them. 64 a turn is ~10-13 ms; a real client is still handed over in the turn its
   * headers arrive unless a burst is on.
   */
  handOversPerTurn: 64,
  clock: systemClock,
  observe: () => {}
}

const SPEC: OptionSpec<HeaderGateOptions> = {
  maxPending: integerIn(1, 1 << 20),
  perAddress: integerIn(1, 1 << 20),
  perNetwork: integerIn(1, 1 << 20),
  headersTimeoutMs: integerIn(1, 3_600_000),
  pressuredTimeoutMs: integerIn(1, 3_600_000),
  maxHeaderBytes: integerIn(1, 1 << 20),
  maxBufferedBytes: integerIn(1, 1 << 30),
  maxServed: integerIn(1, 1 << 20),
  servedPerAddress: integerIn(1, 1 << 20),
  handOversPerTurn: integerIn(1, 1 << 20),
  clock: anything,
  observe: isFunction
}

/** Why the gate closed a connection before node:http saw it. */
export type HeaderGateClose = 'refused-address' | 'refused-network' | 'evicted' | 'over-budget' | 'headers-timeout' | 'closed-before-headers' |
  /** Its address already had `servedPerAddress` connections in node:http. */
  'served-address' |
  /** node:http held `maxServed` connections, none of them idle in a network holding two more than its own. */
  'served-full'

/** What {@link HeaderGateOptions.observe} hears. */
export type HeaderGateEvent = 'pending' | 'handed-over' | HeaderGateClose |
  /** A connection node:http held has closed (its place is free). */
  'served-closed'

export interface HeaderGate {
  /** Connections still sending their headers. */
  readonly pending: number
  /** Connections closed here, by reason. */
  readonly closes: ReadonlyMap<HeaderGateClose, number>
  /** Connections handed to node:http. */
  readonly handedOver: number
  /** Connections node:http holds now. */
  readonly served: number
  /** Hand-overs put off to a later turn (past `handOversPerTurn`). */
  readonly deferred: number
  /** Closes every connection still here (the face's close). */
  close (): void
}

interface Pending {
  stream: TcpHandleStream
  address: string
  network: string
  at: number
  chunks: Uint8Array[]
  bytes: number
  /** The last four bytes seen, for the end of the header block across reads. */
  last: number
  /** Its header block is in; it waits, paused, for a later turn's hand-over. */
  ready: boolean
}

/** \r\n\r\n as the last four bytes, or \n\n as the last two (llhttp decides what it accepts). */
const CRLFCRLF = 0x0d0a0d0a
const LFLF = 0x0a0a

/** A read error closes the stream, and its `close` does the accounting. */
function ignoreError (): void {}

/**
 * Installs the gate on a listening node:http server; null (and nothing installed: node:http
 * serves every connection itself, as before) where this Node lacks the handle shape.
 */
export function gateHeaders (server: Server, given: Partial<HeaderGateOptions> = {}): HeaderGate | null {
  const o = resolveOptions('http.headerGate', HEADER_GATE_DEFAULTS, SPEC, given as Record<string, unknown>)
  if (!tcpHandleStreamsAvailable()) return null
  const waiting = new Map<TcpHandleStream, Pending>() // in arrival order: the oldest first
  const byAddress = new Map<string, number>()
  const byNetwork = new Map<string, number>()
  const closes = new Map<HeaderGateClose, number>()
  let handedOver = 0
  let deferred = 0
  let buffered = 0
  let timer: TimerHandle | null = null
  let timerAt = Infinity
  /** The bytes of the connection node:http is building right now (its 'connection' event). */
  let handing: Buffer | null = null

  const tell = (event: HeaderGateEvent): void => { try { o.observe(event) } catch { /* an observer's bug is not the connection's */ } }
  const counted = (reason: HeaderGateClose): void => { closes.set(reason, (closes.get(reason) ?? 0) + 1); tell(reason) }
  const timeout = (): number => waiting.size * 2 > o.maxPending ? o.pressuredTimeoutMs : o.headersTimeoutMs

  const forget = (p: Pending): void => {
    if (!waiting.delete(p.stream)) return
    if (p.ready) queued.delete(p)
    buffered -= p.bytes
    bumpCount(byAddress, p.address, -1)
    bumpCount(byNetwork, p.network, -1)
  }
  const drop = (p: Pending, reason: HeaderGateClose): void => {
    forget(p)
    counted(reason)
    p.stream.destroy()
  }

  const sweep = (): void => {
    timer = null
    timerAt = Infinity
    const now = o.clock.now()
    const limit = timeout()
    for (const p of waiting.values()) {
      if (p.at + limit > now) break
      drop(p, 'headers-timeout')
    }
    arm()
  }
  /** Wakes at the oldest connection's deadline (moved earlier when pressure shortens it). */
  const arm = (): void => {
    const oldest = waiting.values().next().value
    if (oldest === undefined) return
    const at = oldest.at + timeout()
    if (at >= timerAt) return
    if (timer !== null) o.clock.clearTimeout(timer)
    timerAt = at
    timer = o.clock.setTimeout(sweep, Math.max(0, at - o.clock.now()))
  }

  const served = new ServedConnections(o, () => tell('served-closed'))

  // Hand-overs paced per turn of the event loop (handOversPerTurn): those past the turn's
  // share wait here, in arrival order, paused, and go over the next turns.
  const queued = new Set<Pending>()
  let thisTurn = 0
  let turnEnds = false
  /** The count starts again, and the queue moves on, in the next turn. */
  const endTurnSoon = (): void => {
    if (!turnEnds) { turnEnds = true; setImmediate(nextTurn) }
  }
  const spendTurn = (): void => {
    thisTurn += 1
    endTurnSoon()
  }
  const nextTurn = (): void => {
    turnEnds = false
    thisTurn = 0
    for (const p of queued) {
      if (thisTurn >= o.handOversPerTurn) break
      spendTurn()
      handOver(p)
    }
    if (queued.size > 0) endTurnSoon()
  }
  /** Its header block is in: over to node:http now, or in a later turn while a burst lasts. */
  const finished = (p: Pending): void => {
    if (thisTurn < o.handOversPerTurn && queued.size === 0) { spendTurn(); handOver(p); return }
    p.ready = true
    deferred += 1
    p.stream.pause() // what it sends next stays in the kernel for node:http to read
    queued.add(p)
    endTurnSoon()
  }

  let build: ((clientHandle: unknown) => void) | null = null
  const handOver = (p: Pending): void => {
    forget(p)
    const refused = served.admit(p.address, p.network)
    if (refused !== null) { counted(refused); p.stream.destroy(); return }
    const handle = p.stream.release()
    if (handle === null || build === null) return
    // The reads are Buffers already (views of what libuv read): the common one-read case is not copied.
    const first = p.chunks[0]
    handing = p.chunks.length === 1 && Buffer.isBuffer(first) ? first : Buffer.concat(p.chunks, p.bytes)
    handedOver += 1
    try {
      build(handle)
    } catch {
      handle.close() // node:http never took it
    } finally {
      handing = null
    }
    tell('handed-over')
  }

  function onData (this: TcpHandleStream, chunk: Uint8Array): void {
    const p = waiting.get(this)
    if (p === undefined || p.ready) return
    p.chunks.push(chunk)
    p.bytes += chunk.length
    buffered += chunk.length
    let last = p.last
    for (let i = 0; i < chunk.length; i++) {
      last = ((last << 8) | chunk[i]) >>> 0
      if (last === CRLFCRLF || (last & 0xffff) === LFLF) { finished(p); return }
    }
    p.last = last
    if (p.bytes > o.maxHeaderBytes) { finished(p); return }
    // Over the budget: the oldest go first (this one last: it is the newest to send).
    while (buffered > o.maxBufferedBytes) {
      const oldest = waiting.values().next().value
      if (oldest === undefined) break
      drop(oldest, 'over-budget')
    }
  }
  function onEnd (this: TcpHandleStream): void {
    const p = waiting.get(this)
    if (p !== undefined) drop(p, 'closed-before-headers')
  }
  function onClose (this: TcpHandleStream): void {
    const p = waiting.get(this)
    if (p !== undefined) { forget(p); counted('closed-before-headers') }
  }

  const installed = gateAccepts(server, remote => {
    const address = normalizeAddress(remote)
    if ((byAddress.get(address) ?? 0) >= o.perAddress) { counted('refused-address'); return true }
    const refused = served.refusal(address)
    if (refused !== null) { counted(refused); return true }
    if ((byNetwork.get(subnetOf(address)) ?? 0) >= o.perNetwork) { counted('refused-network'); return true }
    return false
  }, undefined, (clientHandle, remote, _port, buildLater) => {
    const stream = tcpHandleStream(clientHandle)
    if (stream === null) return false
    build = buildLater
    if (waiting.size >= o.maxPending) {
      const oldest = waiting.values().next().value
      if (oldest !== undefined) drop(oldest, 'evicted')
    }
    const address = normalizeAddress(remote)
    const p: Pending = { stream, address, network: subnetOf(address), at: o.clock.now(), chunks: [], bytes: 0, last: 0, ready: false }
    waiting.set(stream, p)
    bumpCount(byAddress, p.address, 1)
    bumpCount(byNetwork, p.network, 1)
    stream.on('data', onData)
    stream.on('end', onEnd)
    stream.on('error', ignoreError)
    stream.on('close', onClose)
    stream.start()
    arm()
    tell('pending')
    return true
  })
  if (!installed) return null
  // Before node:http's own listener: the bytes read here go in front of whatever comes next.
  server.prependListener('connection', (socket: Socket) => {
    if (handing !== null) { socket.unshift(handing); handing = null }
    served.add(socket)
  })
  served.watch(server)

  return {
    get pending () { return waiting.size },
    closes,
    get handedOver () { return handedOver },
    get served () { return served.size },
    get deferred () { return deferred },
    close () {
      if (timer !== null) o.clock.clearTimeout(timer)
      timer = null
      timerAt = Infinity
      for (const p of [...waiting.values()]) { forget(p); p.stream.destroy() }
    }
  }
}
