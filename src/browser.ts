/**
 * torrent-fish for browsers: the neutral API plus WebRTC through WebSocket trackers, using
 * the page's own RTCPeerConnection and WebSocket. Input of the browser ESM build and of the
 * IIFE bundle (global `TorrentFish`) for a script tag.
 *
 *   const fish = TorrentFish.createBrowserPeer({ trackers: ['wss://tracker.example'] })
 *   await fish.addTorrent(new Uint8Array(await file.arrayBuffer()), { source: file.name })
 *
 * The same composition as the Node service with fewer parts: a metadata session, the WebRTC
 * answer pool, and announces through the same paced scheduler (WebSocket trackers only).
 */
// First: the Uint8Array hex/base64 methods uint8-util's browser build calls, where missing.
import './compat/uint8array-base-encoding.ts'
import { MetadataPeer, type MetadataPeerOptions, type AddTorrentOptions, type MetadataPeerEvents } from './core/metadata-peer.ts'
import { InvalidOptionError } from './core/errors.ts'
import type { PeerSummary } from './core/peer-connection.ts'
import type { ParsedTorrent, TorrentRecord } from './core/torrent.ts'
import type { StatsSnapshot, TorrentCounters } from './core/stats.ts'
import type { TorrentStore } from './core/torrent-store.ts'
import { WebRtcAnswerPool, type WebRtcPoolOptions } from './transport/webrtc-answer-pool.ts'
import type { RtcImplementation } from './transport/webrtc-negotiation.ts'
import type { WebRtcView } from './transport/webrtc-view.ts'
import { AnnounceScheduler } from './announce/scheduler.ts'
import { Announcer, normalizeTrackerUrl } from './announce/announcer.ts'
import { WebSocketTrackerTarget } from './announce/ws-tracker-target.ts'
import type { WebSocketConstructor } from './announce/ws-tracker-socket.ts'
import { Parts } from './util/parts.ts'
import { resolveOptions, integerIn, numberIn, isBoolean, anything, type OptionSpec } from './util/options.ts'

// The public API (docs/api.md); test/package/api-surface.test.ts pins these names.
export * from './index.ts'
export type { WebRtcView, WebRtcEvents } from './transport/webrtc-view.ts'
export type { WebRtcPoolOptions, WebRtcStats, NegotiationClosedEvent } from './transport/webrtc-answer-pool.ts'
export type { TrackerStatus, TrackerState, WebSocketConstructor, WebSocketLike } from './announce/ws-tracker-socket.ts'
export type { RtcImplementation } from './transport/webrtc-negotiation.ts'
export { TransportUnavailableError } from './transport/transport.ts'
export { TrackerUnreachableError, TrackerRefusedError, TrackerBadResponseError, UnsupportedTrackerError } from './announce/errors.ts'
export { NegotiationError } from './transport/webrtc-negotiation.ts'

export interface BrowserPeerOptions extends MetadataPeerOptions, WebRtcPoolOptions {
  /** ws:// or wss:// tracker URLs every torrent is announced on. */
  trackers?: string[]
  /** Also announce each torrent on its own ws(s) trackers; default true. */
  torrentTrackers?: boolean
  /** Announces per second across every tracker (the Node service's budget; default 50). */
  announceRate?: number
  /** Defaults to the page's RTCPeerConnection. */
  rtc?: RtcImplementation
  /** The WebSocket class; default `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor
  reconnectMinMs?: number
  reconnectMaxMs?: number
}

/** Defaults of the browser peer's own options, each with its reason (docs/api.md lists them). */
const BROWSER_PEER_DEFAULTS = {
  /** None: the torrents' own ws trackers are announced to anyway. */
  trackers: [] as string[],
  /** A torrent's own tracker is where its leechers look for it. */
  torrentTrackers: true,
  /** The same budget as the Node service: a tab with 1,000 torrents ramps up, never bursts. */
  announceRate: 50
}

const WS_URL = /^wss?:\/\/[^/\s]/i
const POOL_KEYS = ['rtcConfig', 'offersPerAnnounce', 'maxNegotiations', 'negotiationTimeoutMs', 'offerTimeoutMs', 'gatherTimeoutMs'] as const
const SESSION_KEYS = ['peerId', 'allowPrivate', 'connectionLimit', 'perIpLimit', 'handshakeTimeoutMs', 'idleTimeoutMs', 'maxMessageSize', 'uploadRateLimit', 'downloadRateLimit', 'store', 'dht', 'listenPort', 'admission'] as const

const SPEC: OptionSpec<Record<string, unknown>> = {
  trackers: v => Array.isArray(v) && v.every(u => typeof u === 'string' && WS_URL.test(u)) ? undefined : 'must be ws:// or wss:// URLs',
  torrentTrackers: isBoolean,
  announceRate: numberIn(0.001, 100_000),
  rtc: anything,
  WebSocket: anything,
  reconnectMinMs: integerIn(1, 3_600_000),
  reconnectMaxMs: integerIn(1, 3_600_000),
  ...Object.fromEntries([...POOL_KEYS, ...SESSION_KEYS].map(k => [k, anything]))
}

type Listener<K extends keyof MetadataPeerEvents> = (...args: MetadataPeerEvents[K]) => void

/** A metadata peer living in a browser tab, reachable over WebRTC. */
export class BrowserPeer {
  /** The metadata session: torrents, connections, counters; the one source of their events. @internal */
  readonly session: MetadataPeer
  /** The WebRTC answer pool, read-only: `stats()`, `trackers()`, `negotiation-close` and `tracker` events. */
  readonly webrtc: WebRtcView
  /** @internal */
  readonly scheduler: AnnounceScheduler
  private readonly pool: WebRtcAnswerPool
  private readonly announcer: Announcer
  private readonly parts: Parts
  private readonly trackerUrls: string[]
  private readonly torrentTrackers: boolean
  private starting: Promise<void> | null = null

  constructor (options: BrowserPeerOptions = {}) {
    const o = resolveOptions('', { ...BROWSER_PEER_DEFAULTS } as Record<string, unknown>, SPEC, options as Record<string, unknown>) as unknown as BrowserPeerOptions & typeof BROWSER_PEER_DEFAULTS
    const pick = (keys: readonly string[]): Record<string, unknown> => Object.fromEntries(Object.entries(options).filter(([k]) => keys.includes(k)))
    const rtc = options.rtc ?? (globalThis as unknown as Partial<RtcImplementation>)
    if (typeof rtc.RTCPeerConnection !== 'function') throw new InvalidOptionError('rtc', 'this browser has no RTCPeerConnection')
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (!WS) throw new InvalidOptionError('WebSocket', 'no WebSocket implementation in this environment')
    const session = this.session = new MetadataPeer(pick(SESSION_KEYS) as MetadataPeerOptions)
    this.webrtc = this.pool = new WebRtcAnswerPool(session, rtc as RtcImplementation, pick(POOL_KEYS) as WebRtcPoolOptions)
    this.scheduler = new AnnounceScheduler({ rate: o.announceRate })
    this.trackerUrls = [...new Set(o.trackers.map(normalizeTrackerUrl))]
    this.torrentTrackers = o.torrentTrackers
    const signaling = this.pool
    this.announcer = new Announcer(session, this.scheduler, {
      trackers: o.torrentTrackers,
      extraTrackers: this.trackerUrls,
      // A tab speaks WebSocket trackers only; HTTP and UDP ones are skipped without a word.
      targetFor: url => WS_URL.test(url)
        ? new WebSocketTrackerTarget(url, { peerId: session.peerId, signaling, WebSocket: WS, reconnectMinMs: o.reconnectMinMs, reconnectMaxMs: o.reconnectMaxMs, warn: (code, message) => session.warn(code, message) })
        : undefined
    })
    this.parts = new Parts((err, p) => session.warnError(err, `shutdown of ${p.name}`))
    this.parts.add(this.pool)
    this.parts.add({ name: 'announce', start: () => this.announcer.start(), close: async () => { this.announcer.close(); await this.scheduler.close(); for (const t of this.announcer.knownTargets()) await t.close?.() } })
  }

  /** Connects to the trackers and starts answering offers. */
  start (): this {
    this.starting ??= this.parts.start()
    return this
  }

  /** The ws(s) trackers a torrent is announced on. */
  trackersFor (record: TorrentRecord): string[] {
    const own = this.torrentTrackers ? record.announce.flat().filter(u => WS_URL.test(u)).map(normalizeTrackerUrl) : []
    return [...new Set([...this.trackerUrls, ...own])]
  }

  // ---- the session's API ----

  /** @internal */
  get store (): TorrentStore { return this.session.store }
  /** @internal */
  get stats (): MetadataPeer['stats'] { return this.session.stats }
  /** Our 20-byte peer id, sent in every handshake and announce. */
  get peerId (): Uint8Array { return this.session.peerId }
  /** True once `close()` has begun. */
  get closed (): boolean { return this.session.closed }
  /** Serves a torrent from .torrent bytes or a parsed torrent (kept in memory: a tab has no files to re-read). */
  addTorrent (input: Uint8Array | ParsedTorrent, options?: AddTorrentOptions): Promise<TorrentRecord> { return this.session.addTorrent(input, options) }
  /** Stops serving and announcing a torrent; its peers close with reason `torrent-removed`. */
  removeTorrent (infoHash: string): boolean { return this.session.removeTorrent(infoHash) }
  /** A served torrent by its info hash. */
  getTorrent (infoHash: string): TorrentRecord | undefined { return this.session.getTorrent(infoHash) }
  /** Every served torrent. */
  torrents (): TorrentRecord[] { return this.session.torrents() }
  /** One torrent's counters. */
  torrentStats (infoHash: string): TorrentCounters { return this.session.torrentStats(infoHash) }
  /** Totals, per transport, closes by reason. */
  getStats (): StatsSnapshot { return this.session.getStats() }
  /** Open connections. */
  peers (): PeerSummary[] { return this.session.peers() }
  on<K extends keyof MetadataPeerEvents> (event: K, fn: Listener<K>): this { this.session.on(event, fn as never); return this }
  once<K extends keyof MetadataPeerEvents> (event: K, fn: Listener<K>): this { this.session.once(event, fn as never); return this }
  off<K extends keyof MetadataPeerEvents> (event: K, fn: Listener<K>): this { this.session.off(event, fn as never); return this }

  /** Closes the connections, says `stopped` to the trackers, closes the sockets. Safe to call twice. */
  async close (): Promise<void> {
    if (this.session.closed) return
    await this.session.close()
    await this.parts.close()
  }
}

/** Creates a browser peer and starts it. */
export function createBrowserPeer (options: BrowserPeerOptions = {}): BrowserPeer {
  return new BrowserPeer(options).start()
}
