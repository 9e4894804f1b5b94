/**
 * The Node hybrid: the same process that serves TCP and uTP also answers browsers over
 * WebRTC, through `@roamhq/wrtc` (an optional dependency with prebuilt binaries from the
 * npm registry). When it cannot load, torrent-fish says so once and keeps serving the
 * other transports.
 */
import { WebRtcTransport, type WebRtcTransportOptions } from '../transport/webrtc.ts'
import type { RtcImplementation } from '../transport/webrtc-negotiation.ts'
import type { MetadataPeer } from '../core/metadata-peer.ts'

/** WebRTC options of the Node service (the RTC implementation is found here). */
export type NodeWebRtcOptions = Omit<WebRtcTransportOptions, 'rtc'> & { rtc?: RtcImplementation }

let loaded: Promise<RtcImplementation | Error> | null = null

/** Loads `@roamhq/wrtc` once per process; resolves with the error when it is missing or broken. */
export function loadNodeWebRtc (): Promise<RtcImplementation | Error> {
  loaded ??= import('@roamhq/wrtc').then(
    (mod: unknown) => {
      const m = mod as { default?: RtcImplementation }
      const impl = (m.default ?? mod) as RtcImplementation
      if (typeof impl.RTCPeerConnection !== 'function') return new Error('@roamhq/wrtc has no RTCPeerConnection')
      return impl
    },
    (err: Error) => err
  )
  return loaded
}

let warnedUnavailable = false

/**
 * Starts WebRTC for a Node peer; resolves null (after one warning per process) when no
 * WebRTC implementation loads.
 */
export async function startNodeWebRtc (peer: MetadataPeer, options: NodeWebRtcOptions): Promise<WebRtcTransport | null> {
  const rtc = options.rtc ?? await loadNodeWebRtc()
  if (rtc instanceof Error) {
    if (!warnedUnavailable) {
      warnedUnavailable = true
      peer.warn('WARN_WEBRTC_UNAVAILABLE', `WebRTC is off: the optional dependency @roamhq/wrtc did not load (${rtc.message}); serving TCP/uTP only`)
    }
    return null
  }
  return new WebRtcTransport(peer, { ...options, rtc }).start()
}
