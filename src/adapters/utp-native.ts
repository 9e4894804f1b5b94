/**
 * The one place torrent-fish overrides a utp-native internal (pinned to an exact version;
 * test/adapters/utp-native.test.ts fails loudly when an upgrade changes it).
 *
 * Why: utp-native hands every datagram libutp does not take (DHT messages, and whatever a flood
 * sends) to JavaScript as a slice of the socket's 128 KiB receive buffer, and starts a fresh
 * buffer once fewer than 64 KiB are left. A slice nobody keeps still holds its whole buffer
 * until a collection, so a UDP flood whose datagrams are all dropped allocated a new 128 KiB
 * buffer every ~90 datagrams of ~700 bytes, memory outside V8's heap that draws major
 * collections (the hostile bench's UDP flood: 5 major and 5 incremental ones in 10 s before this
 * adapter, 2 and 2 with it, and its leecher's p99 fell back to the calm one). The socket's message callback,
 * taken from the instance when utp-native first binds (`_init`), is replaced here: it asks
 * `deliver` whether anything kept the datagram, and a datagram nobody kept leaves its place in
 * the buffer to the next one, so dropped datagrams allocate nothing.
 *
 * Also: a throw out of utp-native's callbacks is a fatal exception in its binding
 * (napi_fatal_exception), which would end the process on a crafted datagram; `deliver`'s own
 * throws are caught here and reported, and the datagram's bytes are left alone (as if kept).
 */
import { TorrentFishError } from '../core/errors.ts'

/** What the override uses of utp-native's UTP socket. */
interface UtpSocketInternals {
  _inited?: boolean
  _buffer?: Buffer
  _offset?: number
  _onmessage?: unknown
  emit (event: string, ...args: unknown[]): boolean
}

export interface DatagramInfo { address: string, family: 'IPv4', port: number }

/** Returns true when `message` (a view of the shared receive buffer) was kept past the call. */
export type DeliverDatagram = (message: Buffer, rinfo: DatagramInfo) => boolean

/** utp-native consumes the bytes of a datagram whose callback returns an empty buffer. */
const CONSUMED = Buffer.alloc(0)
/** utp-native's own rule: a new buffer once at most this much is left (a datagram is up to 64 KiB). */
const MIN_LEFT = 65536

/**
 * Routes the socket's non-uTP datagrams to `deliver`, reusing the space of each one it did not
 * keep. Call after creating the socket and before `listen()` / `bind()`.
 */
export function deliverDatagrams (socket: unknown, deliver: DeliverDatagram, onError: (err: unknown) => void): void {
  const s = socket as UtpSocketInternals
  if (s._inited !== false || !Buffer.isBuffer(s._buffer) || typeof s._offset !== 'number' || typeof s._onmessage !== 'function') {
    throw new TorrentFishError('ERR_ADAPTER', 'utp-native: the socket\'s receive buffer and message callback are not where this adapter expects them')
  }
  // A view of the buffer from `viewStart`, handed back while datagrams are dropped there.
  let view: Buffer | null = null
  let viewOf: Buffer | null = null
  let viewStart = -1
  s._onmessage = function onDatagram (this: UtpSocketInternals, size: number, port: number, address: string): Buffer {
    if (size < 0) {
      s.emit('error', new Error(`Read failed (status: ${size})`))
      return CONSUMED
    }
    const buffer = s._buffer!
    const start = s._offset!
    const message = buffer.subarray(start, start + size)
    let kept = false
    // A throw may come after a listener took a reference: its bytes are left alone, as kept.
    try { kept = deliver(message, { address, family: 'IPv4', port }) === true } catch (err) { kept = true; onError(err) }
    if (!kept) {
      // Nothing holds these bytes: the next datagram is read into the same place.
      if (start === 0) return buffer
      if (view === null || viewOf !== buffer || viewStart !== start) { view = buffer.subarray(start); viewOf = buffer; viewStart = start }
      return view
    }
    s._offset = start + size
    if (buffer.length - s._offset <= MIN_LEFT) {
      s._buffer = Buffer.allocUnsafe(buffer.length)
      s._offset = 0
      return s._buffer
    }
    return CONSUMED
  }
}
