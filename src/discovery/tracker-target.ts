/**
 * Announces to one tracker URL, one torrent at a time, with bittorrent-tracker's own protocol
 * code. The library's Client is built to live as long as its torrent, with an interval timer
 * (and, for UDP, a socket per request) each; here a short-lived Client makes one announce and
 * is destroyed, so holding 100k torrents costs no timers or sockets while idle. Its interval
 * timer is switched off: the interval the tracker asks for is captured and handed to the
 * scheduler instead.
 *
 * WebSocket trackers keep one socket per URL (the library's socket pool) held open by a
 * "keeper" connection; each announce is a short-lived WebSocketTracker on that socket.
 * WebRTC offers relayed by the tracker are dropped here: answering them is the WebRTC
 * transport's job, which can replace this target for ws:// URLs.
 */
import { EventEmitter } from 'events'
import Client from 'bittorrent-tracker'
import WebSocketTracker from 'bittorrent-tracker/websocket-tracker'
import { arr2hex, hex2arr, hex2bin } from 'uint8-util'
import type { AnnounceEvent, AnnounceOutcome, AnnounceTarget } from './announce-scheduler.ts'
import { TrackerBadResponseError, TrackerRefusedError, TrackerUnreachableError, UnsupportedTrackerError } from './errors.ts'

export interface TrackerIdentity {
  /** Our 20-byte peer id. */
  peerId: Uint8Array
  /** The port peers reach us on (TCP; uTP uses the same number). */
  port: () => number
  /** HTTP User-Agent. */
  userAgent?: string
  /** Peers asked for per announce (default 50; 0 when outgoing connections are off). */
  numwant?: number
}

/** HTTP/UDP trackers ask every 30 min by default (BEP 3 leaves it to them; most say 30). */
const DEFAULT_TRACKER_INTERVAL_MS = 30 * 60_000
/** WebSocket trackers drop idle peers quickly; bittorrent-tracker's own default is 2 min. */
const DEFAULT_WS_INTERVAL_MS = 2 * 60_000
/** Announces to one HTTP/UDP tracker at once: each is a socket or an HTTP request. */
const TRACKER_MAX_IN_FLIGHT = 16

/** Tracker URLs are compared without a trailing slash, as bittorrent-tracker does. */
export function normalizeTrackerUrl (url: string): string {
  const trimmed = url.trim()
  return trimmed.endsWith('/') ? trimmed.slice(0, -1) : trimmed
}

/** Checks an announce URL torrent-fish can use; throws UnsupportedTrackerError otherwise. */
export function checkTrackerUrl (url: string): 'http' | 'udp' | 'ws' {
  let parsed: URL
  try {
    parsed = new URL(url.replace(/^udp:/, 'http:'))
  } catch {
    throw new UnsupportedTrackerError(url, 'not a valid URL')
  }
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase()
  if (!parsed.hostname) throw new UnsupportedTrackerError(url, 'no host')
  if (scheme === 'udp' && !parsed.port) throw new UnsupportedTrackerError(url, 'a UDP tracker needs a port')
  if (scheme === 'http' || scheme === 'https') return 'http'
  if (scheme === 'udp') return 'udp'
  if (scheme === 'ws' || scheme === 'wss') return 'ws'
  throw new UnsupportedTrackerError(url, `unsupported scheme ${scheme}:`)
}

/** Makes an announce settle once: 'update' wins, a 'warning' with no update is the failure. */
function collect (emitter: EventEmitter, url: string, signal: AbortSignal, capture: { intervalMs?: number }): Promise<AnnounceOutcome> {
  return new Promise((resolve, reject) => {
    const peers: string[] = []
    let update: Record<string, unknown> | null = null
    let done = false
    const finish = (err: Error | null): void => {
      if (done) return
      done = true
      emitter.off('update', onUpdate)
      emitter.off('warning', onWarning)
      emitter.off('error', onWarning)
      signal.removeEventListener('abort', onAbort)
      if (err) { reject(err); return }
      const u = update!
      const minInterval = typeof u['min interval'] === 'number' ? (u['min interval'] as number) * 1000 : undefined
      resolve({
        peers,
        ...(capture.intervalMs !== undefined ? { intervalMs: capture.intervalMs } : {}),
        ...(minInterval !== undefined ? { minIntervalMs: minInterval } : {}),
        ...(typeof u.complete === 'number' ? { seeders: u.complete } : {}),
        ...(typeof u.incomplete === 'number' ? { leechers: u.incomplete } : {})
      })
    }
    const onUpdate = (data: Record<string, unknown>): void => {
      update = data
      // The library emits the response's peers synchronously right after 'update'.
      queueMicrotask(() => finish(null))
    }
    const onWarning = (err: unknown): void => {
      const message = err instanceof Error ? err.message : String(err)
      // A 'warning message' comes just before a good 'update'; wait a tick to tell them apart.
      queueMicrotask(() => {
        if (update) return
        finish(classify(url, message))
      })
    }
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new TrackerUnreachableError(url, 'aborted'))
    emitter.on('update', onUpdate)
    emitter.on('peer', (addr: unknown) => { if (typeof addr === 'string') peers.push(addr) })
    emitter.on('warning', onWarning)
    emitter.on('error', onWarning)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * No answer counts against the tracker as a whole; an answer that is not a valid response, or
 * a failure reason, concerns that torrent (trackers in whitelist mode answer so for hashes they
 * do not track: opentracker over UDP sends a bare 8-byte announce reply).
 */
function classify (url: string, message: string): Error {
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EPIPE|timed out|fetch failed|socket hang up|Connection error|aborted|other side closed/i.test(message)) {
    return new TrackerUnreachableError(url, message)
  }
  if (/Non-200|Invalid tracker response|Error decoding|invalid (udp|announce|action|transaction|scrape|error)|tracker sent invalid|invalid .*response/i.test(message)) {
    return new TrackerBadResponseError(url, message)
  }
  return new TrackerRefusedError(url, message)
}

function destroyQuietly (thing: { destroy: (cb?: (err?: unknown) => void) => void }): Promise<void> {
  return new Promise(resolve => {
    try { thing.destroy(() => resolve()) } catch { resolve() }
  })
}

/** An HTTP(S) or UDP tracker. */
export class HttpUdpTrackerTarget implements AnnounceTarget {
  readonly key: string
  readonly maxInFlight = TRACKER_MAX_IN_FLIGHT
  readonly defaultIntervalMs = DEFAULT_TRACKER_INTERVAL_MS
  readonly sendsStopped = true
  private readonly identity: TrackerIdentity

  constructor (url: string, identity: TrackerIdentity) {
    this.key = normalizeTrackerUrl(url)
    this.identity = identity
  }

  async announce (infoHash: string, event: AnnounceEvent, signal: AbortSignal): Promise<AnnounceOutcome> {
    const client = new Client({
      infoHash,
      peerId: this.identity.peerId,
      port: this.identity.port(),
      announce: [this.key],
      userAgent: this.identity.userAgent
    })
    const capture: { intervalMs?: number } = {}
    const tracker = (client as any)._trackers[0]
    try {
      if (!tracker) throw new UnsupportedTrackerError(this.key, 'bittorrent-tracker cannot announce to this URL')
      // One announce, no timer: the scheduler owns the interval.
      tracker.setInterval = (ms?: number) => { if (ms) capture.intervalMs = ms }
      const settled = collect(client, this.key, signal, capture)
      // A metadata-only peer has nothing to download: announcing as complete (`left: 0`) makes
      // trackers hand us the leechers, the only peers that need what we serve.
      const opts = { left: 0, uploaded: 0, downloaded: 0, numwant: event === 'stopped' ? 0 : (this.identity.numwant ?? 50) }
      if (event === 'started') client.start(opts)
      else if (event === 'stopped') client.stop(opts)
      else client.update(opts)
      return await settled
    } finally {
      await destroyQuietly(client)
    }
  }
}

/** Drops relayed WebRTC offers: without a WebRTC transport there is nobody to answer them. */
const AnnounceOnlyWebSocketTracker: new (client: unknown, url: string) => any = class extends (WebSocketTracker as new (client: unknown, url: string) => any) {
  _onAnnounceResponse (data: Record<string, unknown>): void {
    if (data.offer || data.answer) return
    super._onAnnounceResponse(data)
  }
}

/** The minimum of a bittorrent-tracker Client that its per-tracker classes read. */
class ClientShim extends EventEmitter {
  readonly infoHash: string
  readonly peerId: string
  readonly _infoHashBinary: string
  readonly _infoHashBuffer: Uint8Array
  readonly _peerIdBinary: string
  readonly _peerIdBuffer: Uint8Array
  readonly _port: number
  readonly _userAgent: string | undefined
  readonly _proxyOpts = undefined
  readonly _rtcConfig = undefined
  readonly _wrtc = false
  private readonly defaults: Record<string, unknown>

  constructor (infoHash: string, identity: TrackerIdentity, defaults: Record<string, unknown>) {
    super()
    this.infoHash = infoHash
    this.peerId = arr2hex(identity.peerId)
    this._infoHashBinary = hex2bin(infoHash)
    this._infoHashBuffer = hex2arr(infoHash)
    this._peerIdBinary = hex2bin(this.peerId)
    this._peerIdBuffer = identity.peerId
    this._port = identity.port()
    this._userAgent = identity.userAgent
    this.defaults = defaults
  }

  _defaultAnnounceOpts (opts: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...this.defaults, ...opts }
  }
}

/** A WebSocket tracker: one shared socket per URL, kept open while torrents are announced to it. */
export class WebSocketTrackerTarget implements AnnounceTarget {
  readonly key: string
  readonly maxInFlight = 32
  readonly defaultIntervalMs = DEFAULT_WS_INTERVAL_MS
  readonly sendsStopped = true
  private readonly identity: TrackerIdentity
  private keeper: any = null
  private keeperClient: ClientShim | null = null

  constructor (url: string, identity: TrackerIdentity) {
    this.key = normalizeTrackerUrl(url)
    this.identity = identity
  }

  private keep (): void {
    if (this.keeper && !this.keeper.destroyed) return
    // A placeholder hash no swarm uses: the keeper only holds the pooled socket open (and
    // reconnects it with the library's backoff when the tracker drops it).
    this.keeperClient = new ClientShim('0'.repeat(40), this.identity, {})
    this.keeperClient.on('warning', () => {}) // the announces report failures themselves
    this.keeper = new AnnounceOnlyWebSocketTracker(this.keeperClient, this.key)
    this.keeper.setInterval = () => {}
    // Every in-flight announce listens on the shared socket.
    this.keeper.socket?.setMaxListeners?.(0)
  }

  async announce (infoHash: string, event: AnnounceEvent, signal: AbortSignal): Promise<AnnounceOutcome> {
    this.keep()
    const client = new ClientShim(infoHash, this.identity, { numwant: 0, uploaded: 0, downloaded: 0, left: 0 })
    const tracker: any = new AnnounceOnlyWebSocketTracker(client, this.key)
    const capture: { intervalMs?: number } = {}
    tracker.setInterval = (ms?: number) => { if (ms) capture.intervalMs = ms }
    tracker.socket?.setMaxListeners?.(0)
    try {
      const settled = collect(client, this.key, signal, capture)
      // numwant 0: no offers of our own (they would need WebRTC); `left: 0` as for HTTP.
      tracker.announce({ event: event === 'update' ? undefined : event, numwant: 0, uploaded: 0, downloaded: 0, left: 0 })
      if (event === 'stopped') {
        // Trackers do not answer `stopped` over WebSocket; it is sent once the socket is up.
        await new Promise<void>(resolve => {
          if (tracker.socket?.connected) { resolve(); return }
          tracker.socket?.once('connect', () => resolve())
          signal.addEventListener('abort', () => resolve(), { once: true })
        })
        settled.catch(() => {})
        return { peers: [] }
      }
      return await settled
    } finally {
      await destroyQuietly(tracker)
    }
  }

  async close (): Promise<void> {
    if (this.keeper) await destroyQuietly(this.keeper)
    this.keeper = null
  }
}

/** The target for an announce URL, or throws UnsupportedTrackerError. */
export function trackerTarget (url: string, identity: TrackerIdentity): AnnounceTarget {
  const kind = checkTrackerUrl(url)
  return kind === 'ws' ? new WebSocketTrackerTarget(url, identity) : new HttpUdpTrackerTarget(url, identity)
}
