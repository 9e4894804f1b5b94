/**
 * TCP in the transport contract: wraps tcp.ts (listener and dialer) as a part of the service.
 * Outgoing connections bind to the outgoing interface or go through a SOCKS5 proxy.
 */
import type { MetadataPeer } from '../core/metadata-peer.ts'
import type { PeerConnection } from '../core/peer-connection.ts'
import { listenTcp, dialTcp, type TcpListener } from './tcp.ts'
import { socksConnector } from './socks-proxy.ts'
import type { DialAddress, DialOptions, Transport } from './transport.ts'
import { withSignal } from './transport.ts'
import type { ListeningAddress } from '../util/parts.ts'

export interface TcpTransportOptions {
  /** 0 picks a free port. */
  port: number
  /** Interface to listen on; default every IPv4 and IPv6 address. */
  host?: string
  /** Local address outgoing connections bind to. */
  outgoingInterface?: string
  /** SOCKS5 proxy `host:port` for outgoing connections. */
  proxy?: string
  /** Milliseconds for a TCP connect. */
  connectTimeoutMs?: number
  /** Accept connections (default true); false: dial only (library use with its own listeners). */
  listen?: boolean
}

/** A TCP connect that takes longer than this is a dead or filtered peer; libtorrent waits 10 s too. */
export const TCP_CONNECT_TIMEOUT_MS = 10_000

export class TcpTransport implements Transport {
  readonly name = 'tcp'
  private readonly session: MetadataPeer
  private readonly options: TcpTransportOptions
  private listener: TcpListener | null = null
  private readonly connect: ReturnType<typeof socksConnector> | undefined

  constructor (session: MetadataPeer, options: TcpTransportOptions) {
    this.session = session
    this.options = options
    this.connect = options.proxy ? socksConnector(options.proxy) : undefined
  }

  /** The bound port (0 before start). */
  get port (): number { return this.listener?.port ?? 0 }

  async start (): Promise<void> {
    if (this.listener || this.options.listen === false) return
    this.listener = await listenTcp(this.session, { port: this.options.port, host: this.options.host })
  }

  listening (): ListeningAddress[] {
    const l = this.listener
    return l && l.server.listening ? [{ name: 'tcp', address: l.host, port: l.port }] : []
  }

  canDial (): boolean { return true }

  dial (address: DialAddress, options: DialOptions = {}): Promise<PeerConnection> {
    return withSignal(options.signal, () => dialTcp(this.session, {
      ...address,
      localAddress: this.options.outgoingInterface,
      timeoutMs: this.options.connectTimeoutMs ?? TCP_CONNECT_TIMEOUT_MS,
      connect: this.connect
    }))
  }

  status (): { port: number, listening: boolean } {
    return { port: this.port, listening: this.listening().length > 0 }
  }

  async close (): Promise<void> {
    const l = this.listener
    this.listener = null
    await l?.close()
  }
}
