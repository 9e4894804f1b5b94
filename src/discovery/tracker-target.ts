/**
 * Announces to one HTTP(S) or UDP tracker URL, one torrent at a time, with bittorrent-tracker's
 * own protocol code (through src/adapters/bittorrent-tracker.ts). The library's Client is built
 * to live as long as its torrent, with an interval timer (and, for UDP, a socket per request)
 * each; here a short-lived tracker client makes one announce and is destroyed, so holding 100k
 * torrents costs no timers or sockets while idle. The interval the tracker asks for is handed
 * to the scheduler. WebSocket trackers are a target of the announce room
 * (src/announce/ws-tracker-target.ts), since their replies carry WebRTC offers.
 */
import type { EventEmitter } from 'node:events'
import { oneShotTracker } from '../adapters/bittorrent-tracker.ts'
import type { AnnounceEvent, AnnounceOutcome, AnnounceTarget } from '../announce/target.ts'
import { TrackerBadResponseError, TrackerRefusedError, TrackerUnreachableError, UnsupportedTrackerError } from '../announce/errors.ts'

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
function collect (emitter: EventEmitter, url: string, signal: AbortSignal, capture: { readonly intervalMs?: number | undefined }): Promise<AnnounceOutcome> {
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
    const kind = this.key.startsWith('udp:') ? 'udp' : 'http'
    const tracker = oneShotTracker(kind, this.key, { infoHash, peerId: this.identity.peerId, port: this.identity.port(), userAgent: this.identity.userAgent })
    try {
      const settled = collect(tracker.events, this.key, signal, tracker)
      // A metadata-only peer has nothing to download: announcing as complete (`left: 0`) makes
      // trackers hand us the leechers, the only peers that need what we serve.
      tracker.announce({
        left: 0,
        uploaded: 0,
        downloaded: 0,
        numwant: event === 'stopped' ? 0 : (this.identity.numwant ?? 50),
        ...(event === 'update' ? {} : { event })
      })
      return await settled
    } finally {
      await tracker.destroy()
    }
  }
}

/** The target for an HTTP(S) or UDP announce URL, or throws UnsupportedTrackerError. */
export function trackerTarget (url: string, identity: TrackerIdentity): AnnounceTarget {
  const kind = checkTrackerUrl(url)
  if (kind === 'ws') throw new UnsupportedTrackerError(url, 'a WebSocket tracker is a target of the announce room')
  return new HttpUdpTrackerTarget(url, identity)
}
