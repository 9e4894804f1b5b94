/**
 * One WebRTC negotiation without trickle ICE, the way WebSocket trackers relay them: the
 * offer or answer is sent once, with every candidate gathered, so it carries everything
 * the other side needs. The RTCPeerConnection class is injected (the browser's own, or a
 * Node library): this module never imports an implementation.
 */
import { TorrentFishError } from '../core/errors.ts'
import type { DataChannelLike } from './webrtc-stream.ts'

/** What we need from a WebRTC implementation: the browser's globals or `@roamhq/wrtc`. */
export interface RtcImplementation {
  RTCPeerConnection: new (config?: any) => RTCPeerConnectionLike
}

/** The parts of RTCPeerConnection we use. */
export interface RtcSessionDescription { type: string, sdp: string }
export interface RTCPeerConnectionLike {
  readonly iceGatheringState: string
  readonly connectionState?: string
  readonly iceConnectionState: string
  readonly localDescription: RtcSessionDescription | null
  createDataChannel (label: string, init?: Record<string, unknown>): DataChannelLike
  createOffer (): Promise<RtcSessionDescription>
  createAnswer (): Promise<RtcSessionDescription>
  setLocalDescription (desc: RtcSessionDescription): Promise<void>
  setRemoteDescription (desc: RtcSessionDescription): Promise<void>
  addEventListener (type: string, fn: (ev: any) => void): void
  removeEventListener (type: string, fn: (ev: any) => void): void
  close (): void
}

/** A negotiation that ended before a data channel opened: `reason` and `op` as for any peer close. */
export class NegotiationError extends TorrentFishError {
  readonly reason: string
  readonly op: string
  constructor (reason: string, op: string, message: string, options?: { cause?: unknown }) {
    super('ERR_WEBRTC_NEGOTIATION', message, options)
    this.name = 'NegotiationError'
    this.reason = reason
    this.op = op
  }
}

/**
 * Longest wait for ICE gathering before sending the description with the candidates found so
 * far. Host candidates arrive in milliseconds; the wait only matters when an implementation
 * never reports completion (node-datachannel) or a STUN server does not answer.
 */
export const ICE_GATHER_TIMEOUT_MS = 3_000

/** Largest SDP we accept from a remote peer: real ones are 0.5-4 KB. */
export const MAX_SDP_SIZE = 64 * 1024

export interface NegotiationOptions {
  /** RTCConfiguration (iceServers ...). */
  config?: Record<string, unknown>
  gatherTimeoutMs?: number
}

/** Checks a relayed description before any RTCPeerConnection is built for it. */
export function validDescription (value: unknown, type: 'offer' | 'answer'): RtcSessionDescription | string {
  if (value === null || typeof value !== 'object') return `${type} is not an object`
  const desc = value as Record<string, unknown>
  if (desc.type !== type) return `${type} has type ${JSON.stringify(desc.type)}`
  if (typeof desc.sdp !== 'string' || desc.sdp.length === 0) return `${type} has no sdp`
  if (desc.sdp.length > MAX_SDP_SIZE) return `${type} sdp is ${desc.sdp.length} bytes (cap ${MAX_SDP_SIZE})`
  if (!desc.sdp.startsWith('v=0')) return `${type} sdp does not start with v=0`
  return { type, sdp: desc.sdp }
}

/** The first host address in an SDP's candidates, for logs and the per-IP limit. */
export function candidateAddress (sdp: string): { address: string, port: number } | undefined {
  const m = /a=candidate:\S+ \d+ \S+ \d+ (\S+) (\d+) typ/.exec(sdp)
  if (!m || m[1].endsWith('.local')) return undefined
  return { address: m[1], port: Number(m[2]) }
}

export class RtcNegotiation {
  readonly pc: RTCPeerConnectionLike
  private readonly gatherTimeoutMs: number
  private closedFlag = false
  private readonly channelPromise: Promise<DataChannelLike>
  private rejectChannel!: (err: NegotiationError) => void
  private resolveChannel!: (channel: DataChannelLike) => void
  private gatherTimer: ReturnType<typeof setTimeout> | null = null
  /** Settles a running gather; close() calls it so a closed negotiation never leaves a promise hanging. */
  private gatherDone: (() => void) | null = null

  constructor (rtc: RtcImplementation, options: NegotiationOptions = {}) {
    this.gatherTimeoutMs = options.gatherTimeoutMs ?? ICE_GATHER_TIMEOUT_MS
    this.channelPromise = new Promise((resolve, reject) => {
      this.resolveChannel = resolve
      this.rejectChannel = reject
    })
    this.channelPromise.catch(() => {}) // callers that never ask for the channel must not see an unhandled rejection
    try {
      this.pc = new rtc.RTCPeerConnection(options.config ?? {})
    } catch (err) {
      // Chromium throws once a page holds too many peer connections.
      throw new NegotiationError('rtc-unavailable', 'create', `cannot create an RTCPeerConnection: ${(err as Error).message}`, { cause: err })
    }
    this.pc.addEventListener('datachannel', (ev: { channel: DataChannelLike }) => this.watchChannel(ev.channel))
    const onState = (): void => {
      const state = this.pc.connectionState ?? this.pc.iceConnectionState
      if (state === 'failed') this.fail(new NegotiationError('ice-failed', 'connect', 'ICE found no working candidate pair'))
    }
    this.pc.addEventListener('connectionstatechange', onState)
    this.pc.addEventListener('iceconnectionstatechange', onState)
  }

  get closed (): boolean { return this.closedFlag }

  /** Answers a remote offer; resolves with the answer carrying every gathered candidate. */
  async answer (offer: RtcSessionDescription): Promise<RtcSessionDescription> {
    try {
      await this.pc.setRemoteDescription(offer)
    } catch (err) {
      throw this.fail(new NegotiationError('bad-offer', 'set-remote', `offer rejected by WebRTC: ${(err as Error).message}`, { cause: err }))
    }
    try {
      await this.pc.setLocalDescription(await this.pc.createAnswer())
    } catch (err) {
      throw this.fail(new NegotiationError('answer-failed', 'create-answer', (err as Error).message, { cause: err }))
    }
    return await this.gathered()
  }

  /** Creates an offer with a data channel; resolves with it once candidates are gathered. */
  async offer (): Promise<RtcSessionDescription> {
    this.watchChannel(this.pc.createDataChannel('torrent-fish'))
    try {
      await this.pc.setLocalDescription(await this.pc.createOffer())
    } catch (err) {
      throw this.fail(new NegotiationError('offer-failed', 'create-offer', (err as Error).message, { cause: err }))
    }
    return await this.gathered()
  }

  /** Applies the remote answer to our offer. */
  async accept (answer: RtcSessionDescription): Promise<void> {
    try {
      await this.pc.setRemoteDescription(answer)
    } catch (err) {
      throw this.fail(new NegotiationError('bad-answer', 'set-remote', `answer rejected by WebRTC: ${(err as Error).message}`, { cause: err })
      )
    }
  }

  /** Resolves with the data channel once it is open; rejects when the negotiation fails or closes. */
  channel (): Promise<DataChannelLike> { return this.channelPromise }

  private watchChannel (channel: DataChannelLike): void {
    if (channel.readyState === 'open') return this.resolveChannel(channel)
    const onOpen = (): void => {
      channel.removeEventListener('open', onOpen)
      this.resolveChannel(channel)
    }
    channel.addEventListener('open', onOpen)
  }

  private gathered (): Promise<RtcSessionDescription> {
    const { pc } = this
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        this.gatherDone = null
        pc.removeEventListener('icecandidate', onCandidate)
        pc.removeEventListener('icegatheringstatechange', onState)
        if (this.gatherTimer) clearTimeout(this.gatherTimer)
        this.gatherTimer = null
        if (this.closedFlag) return reject(new NegotiationError('closed', 'gather', 'negotiation closed while gathering ICE candidates'))
        const desc = pc.localDescription
        if (!desc) return reject(this.fail(new NegotiationError('answer-failed', 'gather', 'no local description after gathering')))
        resolve({ type: desc.type, sdp: desc.sdp })
      }
      // The final null candidate and the `complete` state both mean done; some implementations send only one.
      const onCandidate = (ev: { candidate: unknown }): void => { if (!ev.candidate) finish() }
      const onState = (): void => { if (pc.iceGatheringState === 'complete') finish() }
      if (pc.iceGatheringState === 'complete') return finish()
      pc.addEventListener('icecandidate', onCandidate)
      pc.addEventListener('icegatheringstatechange', onState)
      this.gatherTimer = setTimeout(finish, this.gatherTimeoutMs)
      this.gatherDone = finish
    })
  }

  /** Ends the negotiation with an error: the channel promise rejects and the connection closes. */
  fail (err: NegotiationError): NegotiationError {
    this.rejectChannel(err)
    this.close()
    return err
  }

  /** Closes the RTCPeerConnection; safe to call twice. */
  close (): void {
    if (this.closedFlag) return
    this.closedFlag = true
    this.rejectChannel(new NegotiationError('closed', 'close', 'negotiation closed'))
    this.gatherDone?.()
    try { this.pc.close() } catch { /* already closed */ }
  }
}
