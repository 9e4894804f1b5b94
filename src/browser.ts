/**
 * torrent-fish for browsers: the neutral API plus WebRTC through WebSocket trackers, using
 * the page's own RTCPeerConnection and WebSocket. Input of the browser ESM build and of the
 * IIFE bundle (global `TorrentFish`) for a script tag.
 *
 *   const fish = TorrentFish.createBrowserPeer({ trackers: ['wss://tracker.example'] })
 *   await fish.addTorrent(new Uint8Array(await file.arrayBuffer()), { source: file.name })
 */
// First: the Uint8Array hex/base64 methods uint8-util's browser build calls, where missing.
import './compat/uint8array-base-encoding.ts'
import { MetadataPeer, type MetadataPeerOptions } from './core/metadata-peer.ts'
import { InvalidOptionError } from './core/errors.ts'
import { WebRtcTransport, type WebRtcTransportOptions } from './transport/webrtc.ts'
import type { RtcImplementation } from './transport/webrtc-negotiation.ts'

export * from './index.ts'
export { WebRtcTransport } from './transport/webrtc.ts'
export type { WebRtcTransportOptions, WebRtcStats, NegotiationClosedEvent } from './transport/webrtc.ts'
export { TrackerSocket, backoffDelay } from './transport/ws-tracker-socket.ts'
export type { TrackerStatus, TrackerState } from './transport/ws-tracker-socket.ts'
export { NegotiationError } from './transport/webrtc-negotiation.ts'
export type { RtcImplementation } from './transport/webrtc-negotiation.ts'
export { DataChannelStream } from './transport/webrtc-stream.ts'

export interface BrowserPeerOptions extends MetadataPeerOptions, Omit<WebRtcTransportOptions, 'rtc'> {
  /** Defaults to the page's RTCPeerConnection. */
  rtc?: RtcImplementation
}

/** A metadata peer living in a browser tab, reachable over WebRTC. */
export class BrowserPeer extends MetadataPeer {
  readonly webrtc: WebRtcTransport

  constructor (options: BrowserPeerOptions = {}) {
    super(options)
    const rtc = options.rtc ?? (globalThis as unknown as Partial<RtcImplementation>)
    if (typeof rtc.RTCPeerConnection !== 'function') throw new InvalidOptionError('rtc', 'this browser has no RTCPeerConnection')
    this.webrtc = new WebRtcTransport(this, { ...options, rtc: rtc as RtcImplementation })
  }

  /** Connects to the trackers and starts answering offers. */
  start (): this {
    this.webrtc.start()
    return this
  }

  override async close (): Promise<void> {
    await this.webrtc.close()
    await super.close()
  }
}

/** Creates a browser peer and starts it. */
export function createBrowserPeer (options: BrowserPeerOptions = {}): BrowserPeer {
  return new BrowserPeer(options).start()
}
