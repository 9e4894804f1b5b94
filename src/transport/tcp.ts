/**
 * TCP for the metadata peer: one listening port for every torrent (incoming connections are
 * routed by the info hash in their handshake, inside the session), IPv4 and IPv6 on one
 * dual-stack socket, and outgoing connections bound to the outgoing interface.
 */
import net from 'node:net'
import type { MetadataPeer } from '../core/metadata-peer.ts'
import type { PeerConnection } from '../core/peer-connection.ts'
import { listenAnyStack } from './listen.ts'
import { gateAccepts, type AdoptHandle } from './tcp-accept-gate.ts'
import { inheritNoDelay, tcpHandleStream, tcpHandleStreamsAvailable } from '../adapters/node-tcp-handle.ts'
import { setMseKeyExchange } from '../core/mse-hook.ts'
import { nodeMseKeyExchange } from './mse-dh.ts'
import { setMessageAllocator } from '../core/wire-messages.ts'

// Encrypted handshakes on Node sockets use the cheap key exchange (see mse-dh.ts).
setMseKeyExchange(nodeMseKeyExchange)
// Messages we build come from Node's shared pool, not zeroed (see setMessageAllocator).
setMessageAllocator(size => Buffer.allocUnsafe(size))

export interface TcpListenOptions {
  /** 0 picks a free port. */
  port: number
  /** Interface address to listen on; default all IPv4 and IPv6 addresses. */
  host?: string
  /**
   * Refuse at the accepted handle and build a served network's newcomers first (default
   * true, see tcp-accept-gate.ts); false: every connection gets a socket and admission
   * refuses it in the session, what happens on a Node without the handle shape.
   */
  acceptGate?: boolean
  /**
   * Serve admitted connections from Node's TCP handle, without a net.Socket (default true
   * where this Node has what it takes, see adapters/node-tcp-handle.ts, and the session has no
   * rate limit, whose pipes need streams); false: a net.Socket for each.
   */
  handleStreams?: boolean
}

/** The gate's absence is said once per process, not once per listener. */
let warnedNoGate = false

export interface TcpListener {
  readonly port: number
  readonly host: string
  readonly server: net.Server
  /** Whether connections admission refuses are closed before a socket is built (see tcp-accept-gate.ts). */
  readonly gated: boolean
  /** Whether admitted connections are served from the accepted handle, without a net.Socket (see adapters/node-tcp-handle.ts). */
  readonly handleStreams: boolean
  close (): Promise<void>
}

function stripV4Mapped (address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') ? address.slice(7) : address
}

/**
 * Accept queue length for the peer port. Under a connection flood (slowloris re-opening
 * every evicted connection) Node's default of 511 overflows: the kernel then drops a real
 * leecher's SYN and it retries after 1 s, 3 s, 7 s. A longer queue (the kernel caps it at
 * net.core.somaxconn) keeps it waiting its turn instead, which admission makes short.
 */
export const PEER_LISTEN_BACKLOG = 4096

/**
 * Hands an accepted or dialed socket to the session.
 * @param remote the peer's address when already known (the accept gate read it off the
 *   handle): asking the socket again would be a second getpeername(2) per connection.
 */
export function adoptTcpSocket (peer: MetadataPeer, socket: net.Socket, direction: 'incoming' | 'outgoing', infoHash?: string, remote?: { address: string, port: number }): PeerConnection {
  // No corking here: the connection's Wire already hands the socket one buffer per tick.
  // Accepted sockets have TCP_NODELAY from the server's option already.
  if (direction === 'outgoing') socket.setNoDelay(true)
  return peer.handleConnection(socket, {
    transport: 'tcp',
    direction,
    remoteAddress: remote ? remote.address : stripV4Mapped(socket.remoteAddress),
    remotePort: remote ? remote.port : socket.remotePort,
    infoHash,
    encryption: true
  })
}

/** Listens for peers. Rejects (e.g. EADDRINUSE) with the port in the message. */
export async function listenTcp (peer: MetadataPeer, options: TcpListenOptions): Promise<TcpListener> {
  // The address the gate read for the connection Node is building now: net.Server emits
  // 'connection' synchronously inside the handle's onconnection, right after the gate let
  // it through, so this is that socket's peer (taken once; a gate that did not read an
  // address leaves it unset and the socket is asked).
  let accepted: { address: string, port: number } | undefined
  const server = net.createServer({ noDelay: true }, socket => {
    const remote = accepted
    accepted = undefined
    adoptTcpSocket(peer, socket, 'incoming', undefined, remote)
  })
  server.maxConnections = Number.MAX_SAFE_INTEGER // the session enforces its own limit with a reason
  await listenAnyStack(server, options.port, options.host, 'TCP', PEER_LISTEN_BACKLOG)
  const address = server.address() as net.AddressInfo
  server.on('error', err => peer.warnError(err, `tcp listener :${address.port}`))
  // An admitted connection served from its handle: no net.Socket is built for it, and where
  // the listener's TCP_NODELAY is inherited, no setsockopt(2) either.
  const noDelayInherited = inheritNoDelay(server)
  const adopt: AdoptHandle | undefined = options.handleStreams === false || peer.rateLimited || !tcpHandleStreamsAvailable()
    ? undefined
    : (clientHandle, remote, remotePort) => {
        const stream = tcpHandleStream(clientHandle)
        if (!stream) return false
        accepted = undefined
        try {
          if (!noDelayInherited) stream.setNoDelay()
          peer.handleConnection(stream, { transport: 'tcp', direction: 'incoming', remoteAddress: stripV4Mapped(remote), remotePort, encryption: true })
          stream.start()
        } catch (err) {
          stream.destroy()
          peer.warnError(err, `tcp listener :${address.port}`)
        }
        return true
      }
  // Under a flood, connections admission would refuse now cost an accept and a close, not a
  // socket, a session and a close (without the gate they are refused in handleConnection).
  const gated = options.acceptGate !== false && gateAccepts(server, (remote, remotePort) => {
    accepted = undefined
    const remoteAddress = stripV4Mapped(remote)!
    const refused = peer.refuseEarly({ transport: 'tcp', direction: 'incoming', remoteAddress, remotePort }) !== null
    if (!refused) accepted = { address: remoteAddress, port: remotePort }
    return refused
  }, {
    first: remote => {
      const first = peer.servedNetwork(stripV4Mapped(remote)!)
      // Not first: the gate holds this handle and asks `refuse` again when it builds it, so
      // the address just taken must not be read by the next socket (one the gate passes on
      // without an address, when getpeername failed).
      if (!first) accepted = undefined
      return first
    }
  }, adopt)
  if (!gated && options.acceptGate !== false && !warnedNoGate) {
    warnedNoGate = true
    peer.warn('WARN_ACCEPT_GATE_UNAVAILABLE', `node ${process.version}: net.Server's accepted-handle callback is not where torrent-fish expects it; refused TCP connections get a socket before they are closed (costlier under a flood)`)
  }
  return {
    port: address.port,
    host: address.address,
    server,
    gated,
    handleStreams: gated && adopt !== undefined,
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
}

export interface TcpDialOptions {
  host: string
  port: number
  infoHash: string
  /** Local address to bind (the outgoing interface). */
  localAddress?: string
  /** Milliseconds to wait for the TCP connect. */
  timeoutMs?: number
  /** Opens the socket another way (a SOCKS proxy); default net.connect. */
  connect?: (host: string, port: number) => Promise<net.Socket>
}

/** Dials a peer for one torrent; resolves once connected and handed to the session. */
export async function dialTcp (peer: MetadataPeer, options: TcpDialOptions): Promise<PeerConnection> {
  const socket = options.connect
    ? await options.connect(options.host, options.port)
    : await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: options.host, port: options.port, localAddress: options.localAddress, noDelay: true })
      const timer = setTimeout(() => { s.destroy(); reject(new Error(`connect to ${options.host}:${options.port} timed out`)) }, options.timeoutMs ?? 10_000)
      s.once('connect', () => { clearTimeout(timer); s.off('error', reject); resolve(s) })
      s.once('error', err => { clearTimeout(timer); reject(err) })
    })
  return adoptTcpSocket(peer, socket, 'outgoing', options.infoHash)
}
