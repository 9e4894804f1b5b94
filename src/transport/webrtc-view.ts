/**
 * The WebRTC answer pool as the public API shows it (`fish.webrtcTransport` in Node,
 * `peer.webrtc` in a tab): its counters, its trackers and two events. The pool itself has
 * more (the signalling hooks the WebSocket tracker targets call); those are not API.
 */
import type { WebRtcStats, NegotiationClosedEvent } from './webrtc-answer-pool.ts'
import type { TrackerStatus } from '../announce/ws-tracker-socket.ts'

/** Events of the answer pool a program may listen to. */
export interface WebRtcEvents {
  /** A negotiation ended without a connection (timeout, bad SDP, refused offer...), with its reason. */
  'negotiation-close': [NegotiationClosedEvent]
  /** A WebSocket tracker's socket changed state (connecting, open, down, closed). */
  'tracker': [TrackerStatus]
}

/** Read-only view of the WebRTC answer pool. */
export interface WebRtcView {
  /** Offers received and answered, live RTCPeerConnections, failures by reason, trackers. */
  stats (): WebRtcStats
  /** Each WebSocket tracker's socket state. */
  trackers (): TrackerStatus[]
  // One overload per event (not a generic over the keys): the pool's EventEmitter satisfies these.
  on (event: 'negotiation-close', fn: (e: NegotiationClosedEvent) => void): this
  on (event: 'tracker', fn: (status: TrackerStatus) => void): this
  once (event: 'negotiation-close', fn: (e: NegotiationClosedEvent) => void): this
  once (event: 'tracker', fn: (status: TrackerStatus) => void): this
  off (event: 'negotiation-close', fn: (e: NegotiationClosedEvent) => void): this
  off (event: 'tracker', fn: (status: TrackerStatus) => void): this
}
