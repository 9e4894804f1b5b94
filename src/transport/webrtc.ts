/**
 * WebRTC for the metadata peer: WebTorrent-protocol WebSocket trackers relay offers and
 * answers, and each opened data channel becomes a connection of the session.
 *
 * Answer-only by default. Leechers announce with offers; the tracker forwards them to us
 * because we announce as a seeder (`left: 0`); we answer. Sending offers ourselves would
 * hold an RTCPeerConnection per offer per torrent until it times out, which is how a tab
 * with a dozen torrents hits Chromium's peer connection cap, so it is opt-in
 * (`offersPerAnnounce`). An RTCPeerConnection exists only while a negotiation runs or a
 * peer is connected: a tab holding 1,000 torrents has none while nobody asks.
 *
 * One WebSocket per tracker URL carries the announces of every torrent. Isomorphic: the
 * RTCPeerConnection and WebSocket classes are injected.
 */
import { EventEmitter } from 'events'
import { arr2hex, hex2bin, bin2hex, randomBytes } from 'uint8-util'
import type { MetadataPeer } from '../core/metadata-peer.ts'
import type { TorrentRecord } from '../core/torrent.ts'
import { InvalidOptionError } from '../core/errors.ts'
import { DataChannelStream } from './webrtc-stream.ts'
import {
  NegotiationError, RtcNegotiation, candidateAddress, validDescription,
  type RtcImplementation, type RtcSessionDescription
} from './webrtc-negotiation.ts'
import { TrackerSocket, type TrackerStatus, type WebSocketConstructor } from './ws-tracker-socket.ts'

/**
 * Negotiations running at once. Each holds an RTCPeerConnection and ICE sockets; a burst
 * of offers beyond this is refused (the leecher retries on its next announce) rather than
 * exhausting the page's or the process's peer connection budget.
 */
export const MAX_NEGOTIATIONS = 16

/** Time from receiving an offer (or sending one) to an open data channel. */
export const NEGOTIATION_TIMEOUT_MS = 20_000

/** How long an offer we sent waits for an answer (WebTorrent uses 50 s). */
export const OFFER_TIMEOUT_MS = 50_000

/**
 * Default re-announce interval when the tracker names none. Trackers forget peers that stay
 * silent (bittorrent-tracker after 20 min) and some drop idle sockets, so we re-announce.
 */
export const ANNOUNCE_INTERVAL_MS = 120_000
/** Bounds on the interval a tracker may ask for. */
export const MIN_ANNOUNCE_INTERVAL_MS = 30_000
export const MAX_ANNOUNCE_INTERVAL_MS = 30 * 60_000

/** WebTorrent caps offers per announce at 5 and so do we. */
export const MAX_OFFERS_PER_ANNOUNCE = 5

export interface WebRtcTransportOptions {
  /** The WebRTC implementation: `globalThis` in a browser, `@roamhq/wrtc` in Node. */
  rtc: RtcImplementation
  /** The WebSocket class; default `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor
  /** ws:// or wss:// tracker URLs every torrent is announced on. */
  trackers?: string[]
  /** Also announce each torrent on its own ws(s) trackers; default true. */
  torrentTrackers?: boolean
  /** RTCConfiguration; pass `{ iceServers: [] }` on closed networks. */
  rtcConfig?: Record<string, unknown>
  /** Offers sent with each announce (0-5); default 0: answer only. */
  offersPerAnnounce?: number
  maxNegotiations?: number
  negotiationTimeoutMs?: number
  offerTimeoutMs?: number
  /** Longest wait for ICE gathering before sending a description. */
  gatherTimeoutMs?: number
  /** Re-announce interval; default the tracker's, else 2 minutes. */
  announceIntervalMs?: number
  reconnectMinMs?: number
  reconnectMaxMs?: number
}

/** A negotiation that ended before it became a connection, or was refused. */
export interface NegotiationClosedEvent {
  reason: string
  op: string
  message?: string
  infoHash?: string
  tracker: string
  /** Remote peer id (hex) when the message named one. */
  remotePeerId?: string
  direction: 'incoming' | 'outgoing'
}

export interface WebRtcStats {
  offersReceived: number
  answersSent: number
  offersSent: number
  answersReceived: number
  /** Data channels opened and handed to the session. */
  connections: number
  /** Negotiations running now. */
  negotiations: number
  /** RTCPeerConnections alive now (negotiating or connected). */
  peerConnections: number
  /** Negotiations that failed or were refused, by reason. */
  failures: Record<string, number>
  trackers: TrackerStatus[]
}

export interface WebRtcTransportEvents {
  'negotiation-close': [NegotiationClosedEvent]
  'tracker': [TrackerStatus]
  'close': []
}

interface TrackerLink {
  socket: TrackerSocket
  torrents: Set<string>
  /** Torrents that were announced with `started` on this connection. */
  started: Set<string>
  configured: boolean
  intervalMs: number
  timer: ReturnType<typeof setInterval> | null
}

interface PendingOffer {
  negotiation: RtcNegotiation
  infoHash: string
  tracker: string
  timer: ReturnType<typeof setTimeout>
}

const WS_URL = /^wss?:\/\//i

function bounded (name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < min || value > max) throw new InvalidOptionError(name, `must be ${min}-${max}, got ${value}`)
  return value
}

function unref (t: unknown): void { (t as { unref?: () => void }).unref?.() }

/** Normalises a tracker URL so the same tracker written twice shares one socket. */
function trackerKey (url: string): string {
  try {
    const u = new URL(url)
    return u.href.replace(/\/$/, '')
  } catch {
    return url
  }
}

export class WebRtcTransport extends EventEmitter<WebRtcTransportEvents> {
  readonly peer: MetadataPeer
  private readonly rtc: RtcImplementation
  private readonly WebSocketClass: WebSocketConstructor
  private readonly trackerUrls: string[]
  private readonly torrentTrackers: boolean
  private readonly rtcConfig: Record<string, unknown>
  private readonly offersPerAnnounce: number
  private readonly maxNegotiations: number
  private readonly negotiationTimeoutMs: number
  private readonly offerTimeoutMs: number
  private readonly gatherTimeoutMs: number | undefined
  private readonly announceIntervalMs: number | undefined
  private readonly reconnect: { reconnectMinMs?: number, reconnectMaxMs?: number }
  private readonly links = new Map<string, TrackerLink>()
  private readonly pendingOffers = new Map<string, PendingOffer>()
  private readonly peerIdBinary: string
  private active = 0
  /** Negotiations not yet handed to the session, closed with the transport. */
  private readonly running = new Set<RtcNegotiation>()
  private livePcs = 0
  private closedFlag = false
  private readonly counters = { offersReceived: 0, answersSent: 0, offersSent: 0, answersReceived: 0, connections: 0 }
  private readonly failures: Record<string, number> = {}
  private readonly onAdded = (record: TorrentRecord): void => this.addTorrent(record)
  private readonly onRemoved = (record: TorrentRecord): void => this.removeTorrent(record)
  private readonly onPeerClosed = (): void => { void this.close() }

  constructor (peer: MetadataPeer, options: WebRtcTransportOptions) {
    super()
    this.peer = peer
    if (!options.rtc?.RTCPeerConnection) throw new InvalidOptionError('rtc', 'needs an RTCPeerConnection implementation')
    this.rtc = options.rtc
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (!WS) throw new InvalidOptionError('WebSocket', 'no WebSocket implementation in this environment')
    this.WebSocketClass = WS
    for (const url of options.trackers ?? []) {
      if (!WS_URL.test(url)) throw new InvalidOptionError('trackers', `${url} is not a ws:// or wss:// URL`)
    }
    this.trackerUrls = [...new Set((options.trackers ?? []).map(trackerKey))]
    this.torrentTrackers = options.torrentTrackers !== false
    this.rtcConfig = options.rtcConfig ?? {}
    this.offersPerAnnounce = bounded('offersPerAnnounce', options.offersPerAnnounce, 0, 0, MAX_OFFERS_PER_ANNOUNCE)
    this.maxNegotiations = bounded('maxNegotiations', options.maxNegotiations, MAX_NEGOTIATIONS, 1, 10_000)
    this.negotiationTimeoutMs = bounded('negotiationTimeoutMs', options.negotiationTimeoutMs, NEGOTIATION_TIMEOUT_MS, 1, 600_000)
    this.offerTimeoutMs = bounded('offerTimeoutMs', options.offerTimeoutMs, OFFER_TIMEOUT_MS, 1, 600_000)
    this.gatherTimeoutMs = options.gatherTimeoutMs
    this.announceIntervalMs = options.announceIntervalMs
    this.reconnect = { reconnectMinMs: options.reconnectMinMs, reconnectMaxMs: options.reconnectMaxMs }
    this.peerIdBinary = hex2bin(arr2hex(peer.peerId))
  }

  get closed (): boolean { return this.closedFlag }

  /** Connects to the trackers and announces every torrent the peer holds, now and later. */
  start (): this {
    if (this.closedFlag) return this
    for (const url of this.trackerUrls) this.link(url, true)
    for (const record of this.peer.torrents()) this.addTorrent(record)
    this.peer.store.on('added', this.onAdded)
    this.peer.store.on('removed', this.onRemoved)
    this.peer.once('close', this.onPeerClosed)
    return this
  }

  stats (): WebRtcStats {
    return {
      ...this.counters,
      negotiations: this.active,
      peerConnections: this.livePcs,
      failures: { ...this.failures },
      trackers: this.trackers()
    }
  }

  trackers (): TrackerStatus[] {
    return [...this.links.values()].map(l => l.socket.status())
  }

  /** The ws(s) trackers a torrent is announced on. */
  trackersFor (record: TorrentRecord): string[] {
    const own = this.torrentTrackers ? record.announce.flat().filter(u => WS_URL.test(u)).map(trackerKey) : []
    return [...new Set([...this.trackerUrls, ...own])]
  }

  // ---- trackers and announces ----

  private link (url: string, configured = false): TrackerLink {
    let link = this.links.get(url)
    if (link) { link.configured ||= configured; return link }
    const socket = new TrackerSocket(url, { WebSocket: this.WebSocketClass, ...this.reconnect })
    const created: TrackerLink = { socket, torrents: new Set(), started: new Set(), configured, intervalMs: this.announceIntervalMs ?? ANNOUNCE_INTERVAL_MS, timer: null }
    link = created
    this.links.set(url, link)
    socket.on('open', () => {
      created.started.clear()
      this.announceAll(created)
      this.armReannounce(created)
      this.emit('tracker', socket.status())
    })
    socket.on('down', ({ error, retryInMs, first }) => {
      if (created.timer) clearInterval(created.timer)
      created.timer = null
      // Say it once per outage, not once per retry.
      if (first) this.peer.warn('WARN_TRACKER_DOWN', `tracker ${url} unreachable (${error}); retrying in ${Math.round(retryInMs / 1000)} s and backing off`)
      this.emit('tracker', socket.status())
    })
    socket.on('invalid', why => this.peer.warn('WARN_TRACKER_MESSAGE', `tracker ${url} sent an invalid message: ${why}`))
    socket.on('message', msg => this.onTrackerMessage(created, msg))
    return link
  }

  private armReannounce (link: TrackerLink): void {
    if (link.timer) clearInterval(link.timer)
    link.timer = setInterval(() => this.announceAll(link), link.intervalMs)
    unref(link.timer)
  }

  private addTorrent (record: TorrentRecord): void {
    if (this.closedFlag) return
    if (record.private && !this.peer.allowPrivate) return
    for (const url of this.trackersFor(record)) {
      const link = this.link(url)
      if (link.torrents.has(record.infoHash)) continue
      link.torrents.add(record.infoHash)
      if (link.socket.isOpen) this.announce(link, record.infoHash)
    }
  }

  private removeTorrent (record: TorrentRecord): void {
    for (const [url, link] of this.links) {
      if (!link.torrents.delete(record.infoHash)) continue
      if (link.started.delete(record.infoHash)) this.send(link, { ...this.announceBase(record.infoHash), event: 'stopped' })
      if (link.torrents.size === 0 && !link.configured) {
        // A tracker only a removed torrent named: nobody needs its socket any more.
        if (link.timer) clearInterval(link.timer)
        link.socket.close()
        this.links.delete(url)
      }
    }
  }

  private announceAll (link: TrackerLink): void {
    for (const infoHash of link.torrents) this.announce(link, infoHash)
  }

  private announceBase (infoHash: string): Record<string, unknown> {
    return {
      action: 'announce',
      info_hash: hex2bin(infoHash),
      peer_id: this.peerIdBinary,
      uploaded: 0,
      downloaded: 0,
      // A seeder: the tracker forwards leechers' offers to seeders.
      left: 0
    }
  }

  private announce (link: TrackerLink, infoHash: string): void {
    const message = this.announceBase(infoHash)
    if (!link.started.has(infoHash)) message.event = 'started'
    const free = this.maxNegotiations - this.active
    const offers = Math.min(this.offersPerAnnounce, free)
    if (offers <= 0) {
      message.numwant = 0
      if (this.send(link, message)) link.started.add(infoHash)
      return
    }
    void this.makeOffers(link, infoHash, offers).then(list => {
      message.numwant = list.length
      message.offers = list
      if (this.send(link, message)) link.started.add(infoHash)
    })
  }

  private send (link: TrackerLink, message: Record<string, unknown>): boolean {
    return link.socket.send(message)
  }

  private onTrackerMessage (link: TrackerLink, msg: Record<string, unknown>): void {
    if (this.closedFlag) return
    const url = link.socket.url
    if (typeof msg['failure reason'] === 'string') {
      this.peer.warn('WARN_TRACKER_FAILURE', `tracker ${url}: ${msg['failure reason']}`)
      return
    }
    if (msg.action !== 'announce') return // scrape replies and unknown actions: nothing to do
    const interval = Number(msg.interval)
    if (this.announceIntervalMs === undefined && Number.isFinite(interval) && interval > 0) {
      const ms = Math.min(MAX_ANNOUNCE_INTERVAL_MS, Math.max(MIN_ANNOUNCE_INTERVAL_MS, interval * 1000))
      if (ms !== link.intervalMs) { link.intervalMs = ms; this.armReannounce(link) }
    }
    if (msg.offer !== undefined) this.onOffer(link, msg)
    else if (msg.answer !== undefined) this.onAnswer(link, msg)
  }

  // ---- answering offers ----

  private refuse (event: NegotiationClosedEvent): void {
    this.failures[event.reason] = (this.failures[event.reason] ?? 0) + 1
    this.peer.stats.close('webrtc', event.reason)
    this.emit('negotiation-close', event)
  }

  private onOffer (link: TrackerLink, msg: Record<string, unknown>): void {
    this.counters.offersReceived += 1
    const tracker = link.socket.url
    const base = { tracker, direction: 'incoming' as const }
    const { info_hash: ih, peer_id: pid, offer_id: oid } = msg
    if (typeof ih !== 'string' || ih.length !== 20 || typeof pid !== 'string' || pid.length !== 20 || typeof oid !== 'string' || oid.length !== 20) {
      return this.refuse({ ...base, reason: 'malformed-offer', op: 'signal', message: 'offer without a 20-byte info_hash, peer_id and offer_id' })
    }
    const infoHash = bin2hex(ih)
    const remotePeerId = bin2hex(pid)
    if (pid === this.peerIdBinary) return // our own offer echoed back
    const offer = validDescription(msg.offer, 'offer')
    if (typeof offer === 'string') return this.refuse({ ...base, infoHash, remotePeerId, reason: 'malformed-offer', op: 'signal', message: offer })
    const record = this.peer.store.get(infoHash)
    if (!record) return this.refuse({ ...base, infoHash, remotePeerId, reason: 'unknown-infohash', op: 'signal', message: `offer for ${infoHash}, which is not loaded` })
    if (this.active >= this.maxNegotiations) {
      return this.refuse({ ...base, infoHash, remotePeerId, reason: 'negotiation-limit', op: 'signal', message: `${this.active} negotiations running (cap ${this.maxNegotiations})` })
    }
    void this.answerOffer(link, { ...base, infoHash, remotePeerId }, offer, ih, pid, oid)
  }

  private async answerOffer (link: TrackerLink, ctx: Omit<NegotiationClosedEvent, 'reason' | 'op'>, offer: RtcSessionDescription, ih: string, pid: string, oid: string): Promise<void> {
    const negotiation = this.begin(ctx)
    if (!negotiation) return
    const timer = setTimeout(() => negotiation.fail(new NegotiationError('negotiation-timeout', 'connect', `no data channel within ${this.negotiationTimeoutMs} ms`)), this.negotiationTimeoutMs)
    unref(timer)
    try {
      const answer = await negotiation.answer(offer)
      const sent = this.send(link, { ...this.announceBase(bin2hex(ih)), to_peer_id: pid, offer_id: oid, answer })
      if (!sent) throw negotiation.fail(new NegotiationError('tracker-down', 'signal', `tracker ${link.socket.url} went away before the answer was sent`))
      this.counters.answersSent += 1
      const channel = await negotiation.channel()
      clearTimeout(timer)
      this.adopt(negotiation, channel, 'incoming', candidateAddress(offer.sdp), ctx.infoHash!)
    } catch (err) {
      clearTimeout(timer)
      this.end(negotiation, ctx, err)
    }
  }

  /** Takes a negotiation slot and an RTCPeerConnection; null (and a close event) when impossible. */
  private begin (ctx: Omit<NegotiationClosedEvent, 'reason' | 'op'>): RtcNegotiation | null {
    let negotiation: RtcNegotiation
    try {
      negotiation = new RtcNegotiation(this.rtc, { config: this.rtcConfig, gatherTimeoutMs: this.gatherTimeoutMs })
    } catch (err) {
      const e = err as NegotiationError
      this.refuse({ ...ctx, reason: e.reason ?? 'rtc-unavailable', op: e.op ?? 'create', message: e.message })
      return null
    }
    this.active += 1
    this.livePcs += 1
    this.running.add(negotiation)
    let released = false
    const pcClose = negotiation.close.bind(negotiation)
    negotiation.close = () => {
      if (!released) { released = true; this.livePcs -= 1 }
      pcClose()
    }
    return negotiation
  }

  /** A negotiation failed: release its slot and report why. */
  private end (negotiation: RtcNegotiation, ctx: Omit<NegotiationClosedEvent, 'reason' | 'op'>, err: unknown): void {
    this.active -= 1
    this.running.delete(negotiation)
    negotiation.close()
    if (this.closedFlag) return
    const e = err instanceof NegotiationError ? err : new NegotiationError('negotiation-error', 'signal', (err as Error)?.message ?? String(err))
    this.refuse({ ...ctx, reason: e.reason, op: e.op, message: e.message })
  }

  /** A data channel is open: hand it to the session as a connection. */
  private adopt (negotiation: RtcNegotiation, channel: ConstructorParameters<typeof DataChannelStream>[0], direction: 'incoming' | 'outgoing', remote: { address: string, port: number } | undefined, infoHash: string): void {
    this.active -= 1
    this.running.delete(negotiation)
    this.counters.connections += 1
    const stream = new DataChannelStream(channel, () => negotiation.close())
    this.peer.handleConnection(stream, {
      transport: 'webrtc',
      direction,
      remoteAddress: remote?.address,
      remotePort: remote?.port,
      ...(direction === 'outgoing' ? { infoHash } : {}),
      encryption: false
    })
  }

  // ---- sending offers (opt-in) ----

  private async makeOffers (link: TrackerLink, infoHash: string, count: number): Promise<Array<{ offer: RtcSessionDescription, offer_id: string }>> {
    const made = await Promise.all(Array.from({ length: count }, async () => {
      const ctx = { tracker: link.socket.url, infoHash, direction: 'outgoing' as const }
      const negotiation = this.begin(ctx)
      if (!negotiation) return null
      const offerId = hex2bin(arr2hex(randomBytes(20)))
      try {
        const offer = await negotiation.offer()
        const timer = setTimeout(() => {
          this.pendingOffers.delete(offerId)
          this.end(negotiation, ctx, new NegotiationError('offer-timeout', 'signal', `no answer within ${this.offerTimeoutMs} ms`))
        }, this.offerTimeoutMs)
        unref(timer)
        this.pendingOffers.set(offerId, { negotiation, infoHash, tracker: link.socket.url, timer })
        this.counters.offersSent += 1
        return { offer, offer_id: offerId }
      } catch (err) {
        this.end(negotiation, ctx, err)
        return null
      }
    }))
    return made.filter(m => m !== null)
  }

  private onAnswer (link: TrackerLink, msg: Record<string, unknown>): void {
    const oid = msg.offer_id
    const pending = typeof oid === 'string' ? this.pendingOffers.get(oid) : undefined
    if (!pending) return // an answer to an offer that timed out, or to someone else
    this.pendingOffers.delete(oid as string)
    clearTimeout(pending.timer)
    this.counters.answersReceived += 1
    const { negotiation, infoHash } = pending
    const ctx = { tracker: link.socket.url, infoHash, direction: 'outgoing' as const, remotePeerId: typeof msg.peer_id === 'string' ? bin2hex(msg.peer_id) : undefined }
    const answer = validDescription(msg.answer, 'answer')
    if (typeof answer === 'string') return this.end(negotiation, ctx, new NegotiationError('malformed-answer', 'signal', answer))
    const timer = setTimeout(() => negotiation.fail(new NegotiationError('negotiation-timeout', 'connect', `no data channel within ${this.negotiationTimeoutMs} ms`)), this.negotiationTimeoutMs)
    unref(timer)
    negotiation.accept(answer)
      .then(() => negotiation.channel())
      .then(channel => {
        clearTimeout(timer)
        this.adopt(negotiation, channel, 'outgoing', candidateAddress(answer.sdp), infoHash)
      }, err => {
        clearTimeout(timer)
        this.end(negotiation, ctx, err)
      })
  }

  /** Says `stopped` to the trackers, closes the sockets and every running negotiation. Safe to call twice. */
  async close (): Promise<void> {
    if (this.closedFlag) return
    this.closedFlag = true
    this.peer.store.off('added', this.onAdded)
    this.peer.store.off('removed', this.onRemoved)
    this.peer.off('close', this.onPeerClosed)
    for (const pending of this.pendingOffers.values()) {
      clearTimeout(pending.timer)
      pending.negotiation.close()
    }
    this.pendingOffers.clear()
    for (const negotiation of [...this.running]) negotiation.fail(new NegotiationError('shutdown', 'shutdown', 'torrent-fish is closing'))
    for (const link of this.links.values()) {
      if (link.timer) clearInterval(link.timer)
      for (const infoHash of link.started) this.send(link, { ...this.announceBase(infoHash), event: 'stopped' })
      link.socket.close()
    }
    this.links.clear()
    this.emit('close')
  }
}
