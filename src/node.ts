/**
 * torrent-fish for Node: the neutral API (index.ts) plus the service, `createTorrentFish()`:
 * TCP, uTP, the WebRTC answer pool, discovery, the HTTP face, web seed checks and directory
 * loading, composed and started in order.
 *
 * Only what docs/api.md documents is exported; the parts themselves (transports, discovery,
 * the HTTP server, loaders) are internal and import each other directly.
 * test/package/api-surface.test.ts pins these names.
 */
export * from './index.ts'
export { TorrentFish, createTorrentFish } from './node/torrent-fish.ts'
export type { TorrentFishOptions, ListeningTransport } from './node/torrent-fish.ts'
export type { DiscoveryView, WebSeedChecks, TorrentAnnounceStatus } from './node/service-views.ts'
export type { DiscoveryOptions } from './discovery/options.ts'
export type { DiscoveryStatus } from './discovery/discovery.ts'
export type { TrackerReport } from './http/discovery-view.ts'
export type { HttpOptions } from './http/options.ts'
export type { HttpFace } from './http/server.ts'
export type { HeaderGate, HeaderGateEvent, HeaderGateOptions } from './http/header-gate.ts'
export type { SourcesOptions } from './sources/options.ts'
export type { WebSeedHealthOptions, WebSeedStatus, WebSeedState, WebSeedUrlCheck } from './node/web-seed-health.ts'
export type { NodeWebRtcOptions } from './node/webrtc-hybrid.ts'
export type { WebRtcView, WebRtcEvents } from './transport/webrtc-view.ts'
export type { WebRtcPoolOptions, WebRtcStats, NegotiationClosedEvent } from './transport/webrtc-answer-pool.ts'
export type { TrackerStatus, TrackerState } from './announce/ws-tracker-socket.ts'
export type { RtcImplementation } from './transport/webrtc-negotiation.ts'
export { ListenError } from './transport/listen.ts'
export { TransportUnavailableError } from './transport/transport.ts'
export { TrackerUnreachableError, TrackerRefusedError, TrackerBadResponseError, UnsupportedTrackerError } from './announce/errors.ts'
export { DhtError } from './discovery/errors.ts'
export { SourceError } from './sources/errors.ts'
export { NegotiationError } from './transport/webrtc-negotiation.ts'
