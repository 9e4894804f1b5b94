/**
 * The WebRTC part of a metadata peer: an answer pool for the offers WebSocket trackers relay
 * (bounded negotiations, each with a timeout and a reason when it ends), plus opt-in offers of
 * our own. Each opened data channel becomes a connection of the session. It announces nothing
 * itself: the WebSocket tracker is an announce target (src/announce/ws-tracker-target.ts) that
 * hands this pool the offers and answers in its replies.
 *
 * Answer-only by default. Sending offers would hold an RTCPeerConnection per offer per torrent
 * until it times out, which is how a tab with a dozen torrents hits Chromium's peer connection
 * cap, so it is opt-in (`offersPerAnnounce`). An RTCPeerConnection exists only while a
 * negotiation runs or a peer is connected.
 *
 * Isomorphic: the RTC implementation is injected, or loaded on first need (Node: @roamhq/wrtc),
 * in which case a failure to load is said once and the pool declines every offer.
 */
import { EventEmitter } from 'events'
import { arr2hex, hex2bin, bin2hex, randomBytes } from 'uint8-util'
import type { ByteStream, ConnectionInfo, PeerConnection, TransportName } from '../core/peer-connection.ts'
import { TransportUnavailableError, type DialAddress, type DialOptions, type Transport } from './transport.ts'
import { DataChannelStream } from './webrtc-stream.ts'
import {
  NegotiationError, RtcNegotiation, candidateAddress, validDescription,
  type RtcImplementation, type RtcSessionDescription
} from './webrtc-negotiation.ts'
import type { SignalingHandler, SignalOffer, WebSocketTrackerTarget } from '../announce/ws-tracker-target.ts'
import type { TrackerStatus } from '../announce/ws-tracker-socket.ts'
import { resolveOptions, integerIn, type OptionSpec } from '../util/options.ts'

/** What the pool needs from the session: no more. */
export interface WebRtcSession {
  readonly peerId: Uint8Array
  readonly allowPrivate: boolean
  getTorrent (infoHash: string): { infoHash: string, private: boolean } | undefined
  handleConnection (stream: ByteStream, info: ConnectionInfo): unknown
  /** Counts a failed negotiation with the transport's other closes. */
  readonly stats: { close (transport: TransportName, reason: string): void }
  warn (code: string, message: string): void
}

export interface WebRtcPoolOptions {
  /** RTCConfiguration; pass `{ iceServers: [] }` on closed networks. */
  rtcConfig?: Record<string, unknown>
  /** Offers sent with each announce (0-5). */
  offersPerAnnounce?: number
  /** Negotiations running at once. */
  maxNegotiations?: number
  /** From an offer received (or an answer to ours) to an open data channel. */
  negotiationTimeoutMs?: number
  /** How long an offer we sent waits for an answer. */
  offerTimeoutMs?: number
  /** Longest wait for ICE gathering before sending a description (default: the negotiation's). */
  gatherTimeoutMs?: number
}

/** Defaults of {@link WebRtcPoolOptions}, each with its reason. */
export const WEBRTC_POOL_DEFAULTS = {
  /** The RTC implementation's own defaults (public STUN servers); closed networks pass `{ iceServers: [] }`. */
  rtcConfig: {} as Record<string, unknown>,
  /** Answer only: our own offers cost an RTCPeerConnection each until answered or timed out. */
  offersPerAnnounce: 0,
  /**
   * Each negotiation holds an RTCPeerConnection and ICE sockets; a burst beyond this is refused
   * (the leecher retries on its next announce) rather than exhausting the page's or process's budget.
   */
  maxNegotiations: 16,
  /** Loopback takes ~250 ms and a real network a few seconds; 20 s covers slow ICE with room. */
  negotiationTimeoutMs: 20_000,
  /** WebTorrent waits 50 s for an answer to its offers; so do we. */
  offerTimeoutMs: 50_000,
  gatherTimeoutMs: undefined as number | undefined
}

/** WebTorrent caps offers per announce at 5 and so do we. */
export const MAX_OFFERS_PER_ANNOUNCE = 5

const SPEC: OptionSpec<Required<Omit<WebRtcPoolOptions, 'gatherTimeoutMs'>> & { gatherTimeoutMs: number | undefined }> = {
  rtcConfig: v => { if (v === null || typeof v !== 'object') return 'must be an RTCConfiguration object'; return undefined },
  offersPerAnnounce: integerIn(0, MAX_OFFERS_PER_ANNOUNCE),
  maxNegotiations: integerIn(1, 10_000),
  negotiationTimeoutMs: integerIn(1, 600_000),
  offerTimeoutMs: integerIn(1, 600_000),
  gatherTimeoutMs: integerIn(1, 600_000)
}

/** Resolves and checks WebRTC options: unknown names and bad values throw InvalidOptionError. */
export function resolveWebRtcPoolOptions (options: WebRtcPoolOptions = {}, prefix = 'webrtc'): typeof WEBRTC_POOL_DEFAULTS {
  return resolveOptions(prefix, WEBRTC_POOL_DEFAULTS, SPEC, options as Record<string, unknown>)
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

export interface WebRtcPoolEvents {
  'negotiation-close': [NegotiationClosedEvent]
  'tracker': [TrackerStatus]
  'close': []
}

interface PendingOffer {
  negotiation: RtcNegotiation
  infoHash: string
  tracker: string
  timer: ReturnType<typeof setTimeout>
}

type Ctx = Omit<NegotiationClosedEvent, 'reason' | 'op'>

function unref (t: unknown): void { (t as { unref?: () => void }).unref?.() }

/** The RTC implementation, given or loaded on first need (resolves an Error when it cannot load). */
export type RtcSource = RtcImplementation | (() => Promise<RtcImplementation | Error>)

export class WebRtcAnswerPool extends EventEmitter<WebRtcPoolEvents> implements SignalingHandler, Transport {
  readonly name = 'webrtc'
  private readonly session: WebRtcSession
  private readonly source: RtcSource
  private rtc: RtcImplementation | null = null
  private loading: Promise<boolean> | null = null
  private unavailable = false
  private readonly opts: typeof WEBRTC_POOL_DEFAULTS
  private readonly targets = new Set<WebSocketTrackerTarget>()
  private readonly pendingOffers = new Map<string, PendingOffer>()
  private readonly peerIdBinary: string
  private active = 0
  /** Negotiations not yet handed to the session, closed with the pool. */
  private readonly running = new Set<RtcNegotiation>()
  private livePcs = 0
  private closedFlag = false
  private readonly counters = { offersReceived: 0, answersSent: 0, offersSent: 0, answersReceived: 0, connections: 0 }
  private readonly failures: Record<string, number> = {}

  constructor (session: WebRtcSession, rtc: RtcSource, options: WebRtcPoolOptions = {}) {
    super()
    this.session = session
    this.source = rtc
    if (typeof rtc === 'object') this.rtc = rtc
    this.opts = resolveWebRtcPoolOptions(options)
    this.peerIdBinary = hex2bin(arr2hex(session.peerId))
  }

  get closed (): boolean { return this.closedFlag }

  /** Lifecycle: nothing to open; the RTC implementation loads on first need. */
  async start (): Promise<void> {}

  /** Whether WebRTC can run; the first call loads the implementation when it was not given. */
  ready (): Promise<boolean> {
    if (this.rtc) return Promise.resolve(!this.closedFlag)
    this.loading ??= (this.source as () => Promise<RtcImplementation | Error>)().then(impl => {
      if (impl instanceof Error) {
        this.unavailable = true
        this.session.warn('WARN_WEBRTC_UNAVAILABLE', `WebRTC is off: ${impl.message}; serving TCP/uTP only`)
        return false
      }
      this.rtc = impl
      return true
    })
    return this.loading
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

  /** The WebSocket trackers relaying offers to this pool, with their connection state. */
  trackers (): TrackerStatus[] {
    return [...this.targets].map(t => t.status())
  }

  /** Where this part can be reached: one entry per WebSocket tracker (for /health and logs). */
  listening (): Array<{ name: string, address: string, port: number }> {
    if (this.closedFlag || this.unavailable) return []
    return [...this.targets].map(t => ({ name: 'webrtc', address: t.key, port: 0 }))
  }

  status (): WebRtcStats { return this.stats() }

  /**
   * The transport contract's dial: WebRTC has no address to dial; its outgoing connections are
   * the opt-in offers sent with announces (`offersPerAnnounce`).
   */
  canDial (): boolean { return false }

  dial (_address: DialAddress, _options?: DialOptions): Promise<PeerConnection> {
    return Promise.reject(new TransportUnavailableError('webrtc', 'peers are reached through tracker offers (offersPerAnnounce), not dialed'))
  }

  // ---- SignalingHandler ----

  track (target: WebSocketTrackerTarget): void { this.targets.add(target) }
  untrack (target: WebSocketTrackerTarget): void { this.targets.delete(target) }
  trackerChanged (status: TrackerStatus): void { this.emit('tracker', status) }

  private refuse (event: NegotiationClosedEvent): void {
    this.failures[event.reason] = (this.failures[event.reason] ?? 0) + 1
    this.session.stats.close('webrtc', event.reason)
    this.emit('negotiation-close', event)
  }

  onOffer (msg: Record<string, unknown>, tracker: string, reply: (message: Record<string, unknown>) => boolean): void {
    if (this.closedFlag) return
    this.counters.offersReceived += 1
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
    const record = this.session.getTorrent(infoHash)
    if (!record) return this.refuse({ ...base, infoHash, remotePeerId, reason: 'unknown-infohash', op: 'signal', message: `offer for ${infoHash}, which is not loaded` })
    if (record.private && !this.session.allowPrivate) return this.refuse({ ...base, infoHash, remotePeerId, reason: 'private-torrent', op: 'signal', message: `${infoHash} is private and not served` })
    if (!this.rtc) return this.refuse({ ...base, infoHash, remotePeerId, reason: 'rtc-unavailable', op: 'signal', message: 'WebRTC is not loaded' })
    if (this.active >= this.opts.maxNegotiations) {
      return this.refuse({ ...base, infoHash, remotePeerId, reason: 'negotiation-limit', op: 'signal', message: `${this.active} negotiations running (cap ${this.opts.maxNegotiations})` })
    }
    void this.answerOffer({ ...base, infoHash, remotePeerId }, offer, ih, pid, oid, reply)
  }

  private async answerOffer (ctx: Ctx, offer: RtcSessionDescription, ih: string, pid: string, oid: string, reply: (message: Record<string, unknown>) => boolean): Promise<void> {
    const negotiation = this.begin(ctx)
    if (!negotiation) return
    const timer = setTimeout(() => negotiation.fail(new NegotiationError('negotiation-timeout', 'connect', `no data channel within ${this.opts.negotiationTimeoutMs} ms`)), this.opts.negotiationTimeoutMs)
    unref(timer)
    try {
      const answer = await negotiation.answer(offer)
      const sent = reply({ action: 'announce', info_hash: ih, peer_id: this.peerIdBinary, to_peer_id: pid, offer_id: oid, answer })
      if (!sent) throw negotiation.fail(new NegotiationError('tracker-down', 'signal', `tracker ${ctx.tracker} went away before the answer was sent`))
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
  private begin (ctx: Ctx): RtcNegotiation | null {
    let negotiation: RtcNegotiation
    try {
      negotiation = new RtcNegotiation(this.rtc!, { config: this.opts.rtcConfig, gatherTimeoutMs: this.opts.gatherTimeoutMs })
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
  private end (negotiation: RtcNegotiation, ctx: Ctx, err: unknown): void {
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
    this.session.handleConnection(stream, {
      transport: 'webrtc',
      direction,
      remoteAddress: remote?.address,
      remotePort: remote?.port,
      ...(direction === 'outgoing' ? { infoHash } : {}),
      encryption: false
    })
  }

  // ---- sending offers (opt-in) ----

  async makeOffers (infoHash: string, tracker: string): Promise<SignalOffer[]> {
    const count = Math.min(this.opts.offersPerAnnounce, this.opts.maxNegotiations - this.active)
    if (count <= 0 || !this.rtc || this.closedFlag) return []
    const made = await Promise.all(Array.from({ length: count }, async () => {
      const ctx = { tracker, infoHash, direction: 'outgoing' as const }
      const negotiation = this.begin(ctx)
      if (!negotiation) return null
      const offerId = hex2bin(arr2hex(randomBytes(20)))
      try {
        const offer = await negotiation.offer()
        const timer = setTimeout(() => {
          this.pendingOffers.delete(offerId)
          this.end(negotiation, ctx, new NegotiationError('offer-timeout', 'signal', `no answer within ${this.opts.offerTimeoutMs} ms`))
        }, this.opts.offerTimeoutMs)
        unref(timer)
        this.pendingOffers.set(offerId, { negotiation, infoHash, tracker, timer })
        this.counters.offersSent += 1
        return { offer, offer_id: offerId }
      } catch (err) {
        this.end(negotiation, ctx, err)
        return null
      }
    }))
    return made.filter(m => m !== null)
  }

  onAnswer (msg: Record<string, unknown>, tracker: string): void {
    const oid = msg.offer_id
    const pending = typeof oid === 'string' ? this.pendingOffers.get(oid) : undefined
    if (!pending || this.closedFlag) return // an answer to an offer that timed out, or to someone else
    this.pendingOffers.delete(oid as string)
    clearTimeout(pending.timer)
    this.counters.answersReceived += 1
    const { negotiation, infoHash } = pending
    const ctx = { tracker, infoHash, direction: 'outgoing' as const, remotePeerId: typeof msg.peer_id === 'string' ? bin2hex(msg.peer_id) : undefined }
    const answer = validDescription(msg.answer, 'answer')
    if (typeof answer === 'string') return this.end(negotiation, ctx, new NegotiationError('malformed-answer', 'signal', answer))
    const timer = setTimeout(() => negotiation.fail(new NegotiationError('negotiation-timeout', 'connect', `no data channel within ${this.opts.negotiationTimeoutMs} ms`)), this.opts.negotiationTimeoutMs)
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

  /** Closes every running negotiation and pending offer. Safe to call twice. */
  async close (): Promise<void> {
    if (this.closedFlag) return
    this.closedFlag = true
    for (const pending of this.pendingOffers.values()) {
      clearTimeout(pending.timer)
      pending.negotiation.close()
    }
    this.pendingOffers.clear()
    for (const negotiation of [...this.running]) negotiation.fail(new NegotiationError('shutdown', 'shutdown', 'torrent-fish is closing'))
    this.emit('close')
  }
}
