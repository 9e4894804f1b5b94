/**
 * uTP (BEP 29) for the metadata peer, through utp-native (libutp). Optional at install and at
 * run time: when the native module cannot load, `loadUtp()` says why once and torrent-fish
 * serves TCP only.
 *
 * One UDP socket on the same port number as TCP both accepts and dials (libtorrent's layout).
 * Datagrams that are not uTP (DHT messages, which start with `d`) are handed on through
 * `udpSocket()`, so the DHT can share the port as well.
 */
import { createRequire } from 'node:module'
import { EventEmitter } from 'node:events'
import type { MetadataPeer } from '../core/metadata-peer.ts'
import type { PeerConnection } from '../core/peer-connection.ts'
import { TransportUnavailableError } from './transport.ts'
import { setMseKeyExchange } from '../core/mse-hook.ts'
import { OperationBudget } from '../core/admission-budget.ts'
import { subnetOf } from '../core/admission-address.ts'
import { nodeMseKeyExchange } from './mse-dh.ts'
import { deliverDatagrams } from '../adapters/utp-native.ts'

// Encrypted handshakes on Node sockets use the cheap key exchange (see mse-dh.ts).
setMseKeyExchange(nodeMseKeyExchange)

/** The parts of utp-native's socket torrent-fish uses. */
interface UtpSocket extends EventEmitter {
  listen (port: number, host?: string): void
  connect (port: number, host: string): UtpConnection
  address (): { address: string, port: number }
  send (buf: Uint8Array, offset: number, length: number, port: number, host: string, cb?: (err: Error | null) => void): void
  close (cb?: () => void): void
  unref (): void
  /** libutp's firewall: true ignores incoming SYNs (no connection, no reply). */
  firewall (yes: boolean): void
  connections: UtpConnection[]
}

interface UtpConnection extends EventEmitter {
  remoteAddress: string
  remotePort: number
  destroyed: boolean
  destroy (err?: Error): void
  pipe (dest: any): any
  write (chunk: Uint8Array): boolean
}

type UtpFactory = () => UtpSocket

/** How long close() waits for uTP connections to finish closing before letting go. */
const CLOSE_WAIT_MS = 500

let cached: { factory: UtpFactory | null, error: Error | null } | null = null

/** Loads utp-native once; returns null (and the reason in `utpLoadError()`) when it cannot. */
export function loadUtp (): UtpFactory | null {
  if (!cached) {
    try {
      const require = createRequire(import.meta.url)
      const mod = require('utp-native') as UtpFactory
      cached = { factory: mod, error: null }
    } catch (err) {
      cached = { factory: null, error: err as Error }
    }
  }
  return cached.factory
}

export function utpLoadError (): Error | null {
  loadUtp()
  return cached!.error
}

export interface UtpListenOptions {
  /** The TCP port, normally: peers expect uTP on the same number. */
  port: number
  /** IPv4 address to bind; utp-native speaks IPv4 only (default 0.0.0.0). */
  host?: string
  /**
   * Datagrams that are not uTP (handed on to the DHT) processed per second overall and per
   * /24; the rest are dropped before any parsing. libutp itself parses the uTP ones.
   */
  otherDatagrams?: { perSecond: number, perSubnetPerSecond: number }
}

/** A DHT node answers a handful of queries per second per contact; 100/s per /24 is plenty. */
export const OTHER_DATAGRAM_BUDGET = { perSecond: 5000, perSubnetPerSecond: 100 }

/** A dgram-like view of the uTP socket's non-uTP datagrams, for k-rpc (the DHT). */
export interface SharedUdpSocket extends EventEmitter {
  send (buf: Uint8Array, offset: number, length: number, port: number, host: string, cb?: (err: Error | null) => void): void
  address (): { address: string, port: number, family: string }
  bind (...args: unknown[]): void
  close (): void
}

export interface UtpListener {
  readonly port: number
  readonly host: string
  /** Dials a peer over uTP for one torrent; resolves once connected and handed to the session. */
  dial (host: string, port: number, infoHash: string, timeoutMs?: number): Promise<PeerConnection>
  /** The socket's non-uTP datagrams as a dgram-like socket (closing it detaches only). */
  udpSocket (): SharedUdpSocket
  /** Non-uTP datagrams dropped because their source (or everyone) was over budget. */
  readonly droppedDatagrams: number
  /** How many times new uTP connections were shut out because SYNs held the whole uTP share. */
  readonly firewallClosings: number
  close (): Promise<void>
}

function adopt (peer: MetadataPeer, conn: UtpConnection, direction: 'incoming' | 'outgoing', infoHash?: string): PeerConnection {
  return peer.handleConnection(conn, {
    transport: 'utp',
    direction,
    remoteAddress: conn.remoteAddress,
    remotePort: conn.remotePort,
    infoHash,
    encryption: true
  })
}

/** uTP has only IPv4 here: map the dual-stack wildcard and refuse IPv6 addresses clearly. */
function ipv4Host (host: string | undefined): string {
  if (host === undefined || host === '::' || host === '0.0.0.0' || host === '') return '0.0.0.0'
  if (host === '::1') return '127.0.0.1'
  if (host.startsWith('::ffff:')) return host.slice(7)
  if (host.includes(':')) throw new TransportUnavailableError('utp', `utp-native binds IPv4 only, not ${host}`)
  return host
}

/** Listens for uTP peers. Rejects with TransportUnavailableError when utp-native is missing or the port is taken. */
export async function listenUtp (peer: MetadataPeer, options: UtpListenOptions): Promise<UtpListener> {
  const factory = loadUtp()
  if (!factory) throw new TransportUnavailableError('utp', `utp-native could not load (${utpLoadError()?.message.split('\n')[0]})`)
  const host = ipv4Host(options.host)
  const socket = factory()
  // One budget check per datagram, before any view (the DHT's bencode parser) sees it. A view
  // gets its own copy, exactly the datagram's size (what Node's dgram would give it): the DHT's
  // decoder keeps views into the bytes it is handed (node ids in its routing table), and what
  // the adapter hands over is the shared receive buffer, read over by the next datagram.
  const shared = new Set<SharedUdpSocket>()
  const limits = options.otherDatagrams ?? OTHER_DATAGRAM_BUDGET
  const budget = new OperationBudget({ perSecond: limits.perSecond, perSourcePerSecond: limits.perSubnetPerSecond }, Date.now)
  const views = new EventEmitter()
  views.setMaxListeners(0)
  let dropped = 0
  try {
    deliverDatagrams(socket, (buf, rinfo) => {
      if (views.listenerCount('message') === 0) return
      if (budget.take(subnetOf(rinfo.address)) !== null) { dropped++; return }
      const copy = Buffer.allocUnsafeSlow(buf.length)
      buf.copy(copy)
      views.emit('message', copy, rinfo)
    }, err => peer.warnError(err, `udp datagram on uTP socket :${socket.address().port}`))
  } catch (err) {
    throw new TransportUnavailableError('utp', (err as Error).message, { cause: err })
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => { socket.off('listening', onListening); reject(new TransportUnavailableError('utp', `cannot listen on UDP ${host}:${options.port}: ${err.message}`, { cause: err })) }
    const onListening = (): void => { socket.off('error', onError); resolve() }
    socket.once('error', onError)
    socket.once('listening', onListening)
    socket.listen(options.port, host)
  })
  socket.on('error', err => peer.warnError(err, `utp socket :${options.port}`))
  // While SYNs hold the session's whole uTP share, libutp's firewall ignores new ones: a SYN
  // flood then costs nothing per datagram (no native connection, no 128 KiB read buffer, no
  // reply to a spoofed address) instead of a connection built and evicted each time. Every
  // event that can free a slot (a uTP connection closing, or its bytes completing a handshake)
  // checks again; TCP is never affected.
  let firewalled = false
  let firewallClosings = 0
  const refreshFirewall = (): void => {
    const shut = !peer.acceptsUtpNewcomers()
    if (shut === firewalled) return
    firewalled = shut
    if (shut) firewallClosings++
    socket.firewall(shut)
  }
  const recheck = (): void => { if (firewalled) refreshFirewall() }
  socket.on('connection', (conn: UtpConnection) => {
    conn.on('error', () => {}) // the session records the close and its reason
    adopt(peer, conn, 'incoming')
    // Registered after the session's own listeners, so these see the admission already updated.
    conn.on('data', recheck)
    conn.once('close', recheck)
    refreshFirewall()
  })
  const port = socket.address().port
  let closed = false

  return {
    get droppedDatagrams () { return dropped },
    get firewallClosings () { return firewallClosings },
    port,
    host,
    dial: (remoteHost, remotePort, infoHash, timeoutMs = 10_000) => new Promise((resolve, reject) => {
      if (closed) { reject(new Error('uTP socket is closed')); return }
      const conn = socket.connect(remotePort, remoteHost)
      const timer = setTimeout(() => { conn.destroy(); fail(new Error(`uTP connect to ${remoteHost}:${remotePort} timed out`)) }, timeoutMs)
      timer.unref?.()
      const fail = (err: Error): void => {
        clearTimeout(timer)
        conn.off('close', onClose)
        reject(err)
      }
      const onError = (err: Error): void => fail(err)
      const onClose = (): void => fail(new Error(`uTP connection to ${remoteHost}:${remotePort} closed before connecting`))
      conn.once('error', onError)
      conn.once('close', onClose)
      conn.once('connect', () => {
        clearTimeout(timer)
        conn.off('error', onError)
        conn.off('close', onClose)
        conn.on('error', () => {})
        resolve(adopt(peer, conn, 'outgoing', infoHash))
      })
    }),
    udpSocket () {
      const view = new EventEmitter() as SharedUdpSocket
      const onMessage = (buf: Uint8Array, rinfo: unknown): void => { view.emit('message', buf, rinfo) }
      views.on('message', onMessage)
      view.send = (buf, offset, length, p, h, cb) => {
        if (closed) { cb?.(new Error('uTP socket is closed')); return }
        socket.send(buf, offset, length, p, h, cb)
      }
      view.address = () => ({ ...socket.address(), family: 'IPv4' })
      view.bind = () => {} // already bound: it is the uTP socket
      view.close = () => {
        views.off('message', onMessage)
        shared.delete(view)
        queueMicrotask(() => view.emit('close'))
      }
      shared.add(view)
      return view
    },
    close: () => new Promise<void>(resolve => {
      if (closed) { resolve(); return }
      closed = true
      for (const view of [...shared]) view.close()
      for (const conn of [...socket.connections]) conn.destroy()
      // libutp keeps a socket open until every connection has finished closing, which takes
      // its full timeout (~30 s) when the remote is already gone: stop waiting after a moment
      // and let the socket finish on its own without holding the process.
      const timer = setTimeout(() => { socket.unref(); resolve() }, CLOSE_WAIT_MS)
      socket.close(() => { clearTimeout(timer); resolve() })
    })
  }
}

/** Whether uTP can run here; logs nothing. */
export function utpAvailable (): boolean {
  return loadUtp() !== null
}
