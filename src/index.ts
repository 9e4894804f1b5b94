/**
 * torrent-fish: the platform-neutral API. No transports here: the Node entry adds TCP, uTP,
 * WebRTC, discovery and directory loading; the browser entry adds WebRTC.
 */
export { MetadataPeer } from './core/metadata-peer.ts'
export type {
  MetadataPeerOptions, AddTorrentOptions, Warning, PeerClosedEvent, MetadataServedEvent, MetadataPeerEvents
} from './core/metadata-peer.ts'
export type { PeerConnection, ByteStream, ConnectionInfo, CloseInfo, PeerSummary, TransportName } from './core/peer-connection.ts'
export { parseTorrent } from './core/torrent.ts'
export type { TorrentRecord, ParsedTorrent } from './core/torrent.ts'
export { TorrentStore } from './core/torrent-store.ts'
export type { TorrentStoreOptions, TorrentFileReader } from './core/torrent-store.ts'
export { composeMagnet, magnetWarnings } from './core/magnet.ts'
export type { MagnetOptions } from './core/magnet.ts'
export type { StatsSnapshot, TorrentCounters, TransportCounters } from './core/stats.ts'
export { memoryPair } from './transport/memory.ts'
export * from './core/errors.ts'
export * as limits from './core/constants.ts'
