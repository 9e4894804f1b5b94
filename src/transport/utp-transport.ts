/**
 * uTP in the transport contract: wraps utp.ts as a part of the service, on the TCP port number
 * (peers expect both on one number). Optional: when utp-native cannot load, it says so once per
 * process and the service serves TCP only; a port taken by someone else is said every time.
 */
import type { MetadataPeer } from '../core/metadata-peer.ts'
import type { PeerConnection } from '../core/peer-connection.ts'
import { listenUtp, utpLoadError, type UtpListener, type SharedUdpSocket } from './utp.ts'
import type { DialAddress, DialOptions, Transport } from './transport.ts'
import { withSignal, TransportUnavailableError } from './transport.ts'
import type { ListeningAddress } from '../util/parts.ts'

export interface UtpTransportOptions {
  /** The port number, normally the TCP transport's bound port (read at start). */
  port: () => number
  /** Interface to listen on (IPv4 only). */
  host?: string
}

/** utp-native failing to load is said once per process, not once per service. */
let missingWarned = false

export class UtpTransport implements Transport {
  readonly name = 'utp'
  private readonly session: MetadataPeer
  private readonly options: UtpTransportOptions
  private listener: UtpListener | null = null

  constructor (session: MetadataPeer, options: UtpTransportOptions) {
    this.session = session
    this.options = options
  }

  /** Listens; when uTP cannot run, warns and stays off (the service keeps serving TCP). */
  async start (): Promise<void> {
    if (this.listener) return
    const port = this.options.port()
    if (port <= 0) return
    try {
      this.listener = await listenUtp(this.session, { port, host: this.options.host })
    } catch (err) {
      const missing = utpLoadError() !== null
      if (!missing || !missingWarned) this.session.warnError(err, 'utp')
      if (missing) missingWarned = true
    }
  }

  get running (): boolean { return this.listener !== null }

  /** The UDP socket's non-uTP datagrams, for a DHT sharing the port; null when uTP is off. */
  udpSocket (): SharedUdpSocket | null {
    return this.listener?.udpSocket() ?? null
  }

  listening (): ListeningAddress[] {
    const l = this.listener
    return l ? [{ name: 'utp', address: l.host, port: l.port }] : []
  }

  /** utp-native speaks IPv4 only. */
  canDial (host: string): boolean { return this.listener !== null && !host.includes(':') }

  dial (address: DialAddress, options: DialOptions = {}): Promise<PeerConnection> {
    const l = this.listener
    if (!l) return Promise.reject(new TransportUnavailableError('utp', 'not running'))
    return withSignal(options.signal, () => l.dial(address.host, address.port, address.infoHash))
  }

  status (): { running: boolean } { return { running: this.running } }

  async close (): Promise<void> {
    const l = this.listener
    this.listener = null
    await l?.close()
  }
}
