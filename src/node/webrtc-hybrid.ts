/**
 * The Node hybrid: the same process that serves TCP and uTP also answers browsers over
 * WebRTC, through `@roamhq/wrtc` (an optional dependency with prebuilt binaries from the npm
 * registry), loaded on first need: when a WebSocket tracker is first announced to. When it
 * cannot load, the answer pool says so once and torrent-fish keeps serving the other transports.
 */
import { TransportUnavailableError } from '../transport/transport.ts'
import type { RtcImplementation } from '../transport/webrtc-negotiation.ts'
import type { WebRtcPoolOptions } from '../transport/webrtc-answer-pool.ts'

/** WebRTC options of the Node service: the answer pool's, and optionally the RTC implementation. */
export interface NodeWebRtcOptions extends WebRtcPoolOptions {
  /** Default: `@roamhq/wrtc`, loaded on first need. */
  rtc?: RtcImplementation
}

let loaded: Promise<RtcImplementation | Error> | null = null

/** Loads `@roamhq/wrtc` once per process; resolves with the error when it is missing or broken. */
export function loadNodeWebRtc (): Promise<RtcImplementation | Error> {
  loaded ??= import('@roamhq/wrtc').then(
    (mod: unknown) => {
      const m = mod as { default?: RtcImplementation }
      const impl = (m.default ?? mod) as RtcImplementation
      if (typeof impl.RTCPeerConnection !== 'function') return new TransportUnavailableError('webrtc', '@roamhq/wrtc has no RTCPeerConnection')
      return impl
    },
    (err: Error) => new TransportUnavailableError('webrtc', `the optional dependency @roamhq/wrtc did not load (${err.message.split('\n')[0]})`, { cause: err })
  )
  return loaded
}
