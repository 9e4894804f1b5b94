/**
 * The one place torrent-fish overrides a utp-native internal (pinned to an exact version;
 * test/adapters/utp-native.test.ts fails loudly when an upgrade changes it).
 *
 * Why: utp-native hands every datagram libutp does not take (DHT messages, and whatever a flood
 * sends) to JavaScript as a slice of the socket's 128 KiB receive buffer, and starts a fresh
 * buffer once fewer than 64 KiB are left. A slice still holds its whole buffer until a
 * collection: a UDP flood whose datagrams are all dropped took a new 128 KiB buffer every ~90
 * datagrams of ~700 bytes, memory outside V8's heap that draws major collections (the hostile
 * bench's UDP flood: 5 major and 5 incremental ones in 10 s before this adapter, 2 and 2 with it,
 * and its leecher's p99 fell back to the calm one), and a DHT node id kept from one held all 128
 * KiB of it. The socket's message callback, taken from the instance when utp-native first binds
 * (`_init`), is replaced here: each datagram is read into the start of the one receive buffer
 * and handed to `deliver` as a view that is valid during the call only (a consumer that keeps
 * bytes copies them), so datagrams allocate nothing and nothing outlives its callback.
 *
 * Also: a throw out of utp-native's callbacks is a fatal exception in its binding
 * (napi_fatal_exception), which would end the process on a crafted datagram; `deliver`'s own
 * throws are caught here and reported.
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

/** Gets a datagram as a view of the shared receive buffer, valid until it returns. */
export type DeliverDatagram = (message: Buffer, rinfo: DatagramInfo) => void

/** utp-native consumes the bytes of a datagram whose callback returns an empty buffer. */
const CONSUMED = Buffer.alloc(0)

/**
 * Routes the socket's non-uTP datagrams to `deliver`, each read into the start of the same
 * receive buffer. Call after creating the socket and before `listen()` / `bind()`.
 */
export function deliverDatagrams (socket: unknown, deliver: DeliverDatagram, onError: (err: unknown) => void): void {
  const s = socket as UtpSocketInternals
  if (s._inited !== false || !Buffer.isBuffer(s._buffer) || s._offset !== 0 || typeof s._onmessage !== 'function') {
    throw new TorrentFishError('ERR_ADAPTER', 'utp-native: the socket\'s receive buffer and message callback are not where this adapter expects them')
  }
  s._onmessage = function onDatagram (size: number, port: number, address: string): Buffer {
    if (size < 0) {
      s.emit('error', new Error(`Read failed (status: ${size})`))
      return CONSUMED
    }
    // Read each time: after a throw out of this callback utp-native moves to a new buffer (`_realloc`).
    const buffer = s._buffer!
    try { deliver(buffer.subarray(0, size), { address, family: 'IPv4', port }) } catch (err) { onError(err) }
    // A non-empty buffer returned is where utp-native reads the next datagram: the same place.
    return buffer
  }
}
