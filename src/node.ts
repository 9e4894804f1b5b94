/**
 * torrent-fish for Node: the neutral API plus TCP (and, when available, uTP and WebRTC),
 * directory loading and the service used by the CLI.
 */
export * from './index.ts'
export { TorrentFish, createTorrentFish } from './node/torrent-fish.ts'
export type { TorrentFishOptions, ListeningTransport } from './node/torrent-fish.ts'
export { DirectoryLoader } from './node/directory-loader.ts'
export { listenTcp, dialTcp } from './transport/tcp.ts'
export type { TcpListener, TcpListenOptions, TcpDialOptions } from './transport/tcp.ts'
export { startWebSeed } from './node/web-seed-server.ts'
export type { WebSeedServer } from './node/web-seed-server.ts'
export { startHttp } from './http/server.ts'
export type { HttpOptions, HttpFace } from './http/server.ts'
export type { DiscoverySource, TrackerReport } from './http/discovery-view.ts'
export { WebSeedHealth } from './node/web-seed-health.ts'
export type { WebSeedHealthOptions, WebSeedStatus, WebSeedState, WebSeedUrlCheck } from './node/web-seed-health.ts'
