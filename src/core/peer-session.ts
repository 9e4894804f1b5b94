/**
 * What a PeerConnection needs from the session that owns it. A separate interface keeps
 * peer-connection.ts free of the session's imports and makes the contract explicit.
 */
import type { Stats } from './stats.ts'
import type { TorrentStore } from './torrent-store.ts'
import type { TorrentRecord } from './torrent.ts'
import type { PeerConnection } from './peer-connection.ts'
import type { Throttle } from './rate-limit.ts'

export interface SessionLimits {
  handshakeTimeoutMs: number
  idleTimeoutMs: number
  maxMessageSize: number
  connectionLimit: number
  perIpLimit: number
}

export interface PeerSession {
  readonly store: TorrentStore
  readonly stats: Stats
  readonly limits: SessionLimits
  readonly peerId: Uint8Array
  readonly allowPrivate: boolean
  readonly dht: boolean
  readonly listenPort: number | undefined
  now (): number
  uploadThrottle (): Throttle | null
  downloadThrottle (): Throttle | null
  onPeerReady (conn: PeerConnection): void
  /** The first in-range metadata request of a connection. */
  onMetadataAsked (conn: PeerConnection): void
  onMetadataServed (conn: PeerConnection): void
  onPeerClosed (conn: PeerConnection): void
  /** Before a connection's first Diffie-Hellman operation (MSE); throws a PeerFault to refuse. */
  admitKeyExchange (conn: PeerConnection): void
  warn (code: string, message: string, record?: TorrentRecord): void
}
