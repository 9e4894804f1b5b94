/**
 * A WebSocket (WebTorrent) tracker as an announce target. One socket per tracker URL carries
 * the announces of every torrent; the scheduler paces them like HTTP/UDP announces. What makes
 * it different: its replies may carry WebRTC offers relayed from leechers (and answers to our
 * own offers), which go to the signalling handler (the WebRTC answer pool). Isomorphic: the
 * WebSocket class is injected (browsers and Node >= 22 have one).
 *
 * We announce as a seeder (`left: 0`): the tracker forwards leechers' offers to seeders, and
 * a metadata-only peer wants exactly the leechers.
 */
import { arr2hex, bin2hex, hex2bin } from 'uint8-util'
import type { AnnounceEvent, AnnounceOutcome, AnnounceTarget } from './target.ts'
import { TrackerRefusedError, TrackerUnreachableError } from './errors.ts'
import { TrackerSocket, type TrackerStatus, type WebSocketConstructor } from './ws-tracker-socket.ts'

/** WebSocket trackers drop idle peers quickly; bittorrent-tracker's own client re-announces every 2 min. */
export const DEFAULT_WS_INTERVAL_MS = 2 * 60_000
/** Announces waiting for a reply on one socket at once: each is a few hundred bytes of JSON. */
const WS_MAX_IN_FLIGHT = 64

/** An offer we send with an announce (opt-in). */
export interface SignalOffer {
  offer: { type: string, sdp: string }
  offer_id: string
}

/**
 * The WebRTC side of a WebSocket tracker, declared here so the announce room needs nothing
 * from the transport room: the answer pool implements it.
 */
export interface SignalingHandler {
  /** Whether WebRTC can run here; loads it on first call. False: announcing on ws trackers is pointless. */
  ready (): Promise<boolean>
  /** Offers to send with one announce; [] when answer-only (the default). */
  makeOffers (infoHash: string, tracker: string): Promise<SignalOffer[]>
  /** A relayed offer from a leecher; `reply` sends our answer back over this tracker's socket. */
  onOffer (message: Record<string, unknown>, tracker: string, reply: (message: Record<string, unknown>) => boolean): void
  /** A relayed answer to one of our offers. */
  onAnswer (message: Record<string, unknown>, tracker: string): void
  /** The target exists (for status) / is gone. */
  track? (target: WebSocketTrackerTarget): void
  untrack? (target: WebSocketTrackerTarget): void
  /** The tracker's connection state changed. */
  trackerChanged? (status: TrackerStatus): void
}

export interface WebSocketTrackerOptions {
  peerId: Uint8Array
  signaling: SignalingHandler
  /** Default `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor
  reconnectMinMs?: number
  reconnectMaxMs?: number
  /** Said once per outage (the announces report their own failures to the scheduler). */
  warn?: (code: string, message: string) => void
}

interface Pending {
  resolve: (outcome: AnnounceOutcome) => void
  reject: (err: Error) => void
}

export class WebSocketTrackerTarget implements AnnounceTarget {
  readonly key: string
  readonly maxInFlight = WS_MAX_IN_FLIGHT
  readonly defaultIntervalMs = DEFAULT_WS_INTERVAL_MS
  readonly sendsStopped = true
  private readonly peerIdBinary: string
  private readonly signaling: SignalingHandler
  private readonly options: WebSocketTrackerOptions
  private socket: TrackerSocket | null = null
  private readonly pending = new Map<string, Pending>()
  private readonly openWaiters = new Set<() => void>()
  private hooks: { reannounce: () => void } | null = null
  private wasOpen = false
  private closed = false

  constructor (url: string, options: WebSocketTrackerOptions) {
    this.key = url
    this.options = options
    this.signaling = options.signaling
    this.peerIdBinary = hex2bin(arr2hex(options.peerId))
    this.signaling.track?.(this)
    // Connect now, not at the first announce: a tab shows its tracker's state before it holds a
    // torrent, and the socket is up by the time one is added. Only when WebRTC can run at all
    // (in Node this is the first need that loads it).
    void this.signaling.ready().then(ok => { if (ok && !this.closed) this.connect() }, () => {})
  }

  attach (hooks: { reannounce: () => void }): void { this.hooks = hooks }

  /** The socket's state for status pages (connecting before the first announce). */
  status (): TrackerStatus {
    return this.socket?.status() ?? { url: this.key, state: this.closed ? 'closed' : 'connecting', failures: 0, lastError: undefined, retryAt: undefined, connectedAt: undefined, messagesIn: 0, messagesOut: 0 }
  }

  private connect (): TrackerSocket {
    if (this.socket) return this.socket
    const WS = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (!WS) throw new TrackerUnreachableError(this.key, 'no WebSocket implementation in this environment')
    const socket = new TrackerSocket(this.key, { WebSocket: WS, reconnectMinMs: this.options.reconnectMinMs, reconnectMaxMs: this.options.reconnectMaxMs })
    this.socket = socket
    socket.on('open', () => {
      for (const w of [...this.openWaiters]) w()
      // The tracker forgets a socket's torrents when it closes: after a reconnect, announce them all again.
      if (this.wasOpen) this.hooks?.reannounce()
      this.wasOpen = true
      this.signaling.trackerChanged?.(socket.status())
    })
    socket.on('down', ({ error, retryInMs, first }) => {
      for (const p of [...this.pending.values()]) p.reject(new TrackerUnreachableError(this.key, error))
      this.pending.clear()
      if (first) this.options.warn?.('WARN_TRACKER_DOWN', `tracker ${this.key} unreachable (${error}); retrying in ${Math.round(retryInMs / 1000)} s and backing off`)
      this.signaling.trackerChanged?.(socket.status())
    })
    socket.on('invalid', why => this.options.warn?.('WARN_TRACKER_MESSAGE', `tracker ${this.key} sent an invalid message: ${why}`))
    socket.on('message', msg => this.onMessage(msg))
    return socket
  }

  private waitOpen (socket: TrackerSocket, signal: AbortSignal): Promise<void> {
    if (socket.isOpen) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const done = (): void => { this.openWaiters.delete(done); signal.removeEventListener('abort', onAbort); resolve() }
      const onAbort = (): void => { this.openWaiters.delete(done); reject(signal.reason instanceof Error ? signal.reason : new TrackerUnreachableError(this.key, 'aborted')) }
      this.openWaiters.add(done)
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  async announce (infoHash: string, event: AnnounceEvent, signal: AbortSignal): Promise<AnnounceOutcome> {
    if (this.closed) throw new TrackerUnreachableError(this.key, 'closed')
    // Without WebRTC nobody could answer the offers this tracker relays: announce nothing.
    if (!(await this.signaling.ready())) return { peers: [], intervalMs: Number.MAX_SAFE_INTEGER }
    const socket = this.connect()
    await this.waitOpen(socket, signal)
    const offers = event === 'stopped' ? [] : await this.signaling.makeOffers(infoHash, this.key)
    const message: Record<string, unknown> = {
      action: 'announce',
      info_hash: hex2bin(infoHash),
      peer_id: this.peerIdBinary,
      uploaded: 0,
      downloaded: 0,
      left: 0,
      numwant: offers.length,
      ...(offers.length > 0 ? { offers } : {}),
      ...(event === 'update' ? {} : { event })
    }
    if (event === 'stopped') {
      // Trackers do not answer `stopped` over WebSocket.
      socket.send(message)
      return { peers: [] }
    }
    const reply = new Promise<AnnounceOutcome>((resolve, reject) => {
      const onAbort = (): void => { this.pending.delete(infoHash); reject(signal.reason instanceof Error ? signal.reason : new TrackerUnreachableError(this.key, 'aborted')) }
      this.pending.set(infoHash, {
        resolve: o => { signal.removeEventListener('abort', onAbort); resolve(o) },
        reject: e => { signal.removeEventListener('abort', onAbort); reject(e) }
      })
      signal.addEventListener('abort', onAbort, { once: true })
    })
    if (!socket.send(message)) {
      this.pending.delete(infoHash)
      throw new TrackerUnreachableError(this.key, 'socket closed before the announce was sent')
    }
    return await reply
  }

  private onMessage (msg: Record<string, unknown>): void {
    if (this.closed) return
    const ih = typeof msg.info_hash === 'string' && msg.info_hash.length === 20 ? bin2hex(msg.info_hash) : undefined
    if (typeof msg['failure reason'] === 'string') {
      const waiting = ih ? this.pending.get(ih) : undefined
      if (ih && waiting) { this.pending.delete(ih); waiting.reject(new TrackerRefusedError(this.key, msg['failure reason'])) } else this.options.warn?.('WARN_TRACKER_FAILURE', `tracker ${this.key}: ${msg['failure reason']}`)
      return
    }
    if (msg.action !== 'announce') return // scrape replies and unknown actions: nothing to do
    if (msg.offer !== undefined) return this.signaling.onOffer(msg, this.key, m => this.socket?.send(m) ?? false)
    if (msg.answer !== undefined) return this.signaling.onAnswer(msg, this.key)
    const waiting = ih ? this.pending.get(ih) : undefined
    if (!ih || !waiting) return
    this.pending.delete(ih)
    const interval = Number(msg.interval)
    const minInterval = Number(msg['min interval'])
    waiting.resolve({
      peers: [],
      ...(Number.isFinite(interval) && interval > 0 ? { intervalMs: interval * 1000 } : {}),
      ...(Number.isFinite(minInterval) && minInterval > 0 ? { minIntervalMs: minInterval * 1000 } : {}),
      ...(typeof msg.complete === 'number' ? { seeders: msg.complete } : {}),
      ...(typeof msg.incomplete === 'number' ? { leechers: msg.incomplete } : {})
    })
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    for (const p of [...this.pending.values()]) p.reject(new TrackerUnreachableError(this.key, 'closed'))
    this.pending.clear()
    this.socket?.close()
    this.signaling.untrack?.(this)
  }
}
