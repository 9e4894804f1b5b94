/**
 * The transport contract (after js-libp2p's Transport and anacrolix's Dialer/Listener): a
 * transport has a name, listens (its part lifecycle's `start`), says what it listens on, dials
 * `{ host, port, infoHash }` with an AbortSignal, and closes. TCP, uTP, WebRTC and memory
 * implement it; adding a transport touches this room only. Every connection, incoming or
 * dialed, goes to the session through `handleConnection(stream, info)`.
 */
import type { PeerConnection, ByteStream, ConnectionInfo, TransportName } from '../core/peer-connection.ts'
import type { ListeningAddress, Part } from '../util/parts.ts'
import { TorrentFishError } from '../core/errors.ts'

/** Where a dial goes, and for which torrent (we send its info hash in our handshake). */
export interface DialAddress {
  host: string
  port: number
  infoHash: string
}

export interface DialOptions {
  signal?: AbortSignal
}

/** What a transport needs from the session. */
export interface ConnectionSink {
  handleConnection (stream: ByteStream, info: ConnectionInfo): PeerConnection
  warnError (err: unknown, source?: string): void
}

export interface Transport extends Part {
  readonly name: TransportName
  /** Starts accepting connections (the part's start). */
  start (): Promise<void>
  /** What it accepts connections on (empty before start and after close). */
  listening (): ListeningAddress[]
  /** Whether this transport can dial that host at all (uTP: IPv4 only; WebRTC: never directly). */
  canDial (host: string): boolean
  /** Opens a connection to a peer for one torrent; resolves once handed to the session. */
  dial (address: DialAddress, options?: DialOptions): Promise<PeerConnection>
  close (): Promise<void>
}

/** An optional transport could not be loaded or bound, or cannot do what was asked. */
export class TransportUnavailableError extends TorrentFishError {
  constructor (transport: string, message: string, options?: { cause?: unknown }) {
    super('ERR_TRANSPORT_UNAVAILABLE', `${transport}: ${message}`, options)
    this.name = 'TransportUnavailableError'
  }
}

/** Rejects at once when the signal is already aborted; else races the dial against it. */
export function withSignal<T> (signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
  if (!signal) return run()
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    run().then(v => { signal.removeEventListener('abort', onAbort); resolve(v) }, e => { signal.removeEventListener('abort', onAbort); reject(e) })
  })
}
