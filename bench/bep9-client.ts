/**
 * A minimal BEP 9 leecher on a raw TCP socket, for the load generator: handshake (BEP 3)
 * with the extension bit, extended handshake (BEP 10), request every metadata piece as soon
 * as the peer says `metadata_size`, verify SHA-1 against the info hash, close.
 *
 * Why hand-rolled when the ut_metadata package exists (bench/wire-client.ts uses it): the
 * package decodes and re-encodes the whole info dict after fetching it and decodes every data
 * message through a string, so on a 2-core machine the generator, not the peer under test,
 * sets the pace. This client does only what an exchange needs.
 */
import net from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import bencode from 'bencode'

const PSTR = Buffer.from('\x13BitTorrent protocol', 'latin1')
const PIECE = 16 * 1024
/** Our id for ut_metadata in our extended handshake: data messages to us carry it. */
const OUR_UT_METADATA = 1
const MSG_EXTENDED = 20
const EXT_HANDSHAKE_MSG = bencode.encode({ m: { ut_metadata: OUR_UT_METADATA }, v: 'tf-bench 1' })

export class ExchangeError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.code = code
  }
}

function message (id: number, ext: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(6 + payload.length)
  out.writeUInt32BE(2 + payload.length, 0)
  out[4] = id
  out[5] = ext
  out.set(payload, 6)
  return out
}

export interface FetchOptions {
  host: string
  port: number
  infoHash: string
  timeoutMs: number
  /**
   * Metadata requests kept outstanding: 2 is how libtorrent leechers ask, 0 (default) asks
   * for every piece at once, as WebTorrent does.
   */
  window?: number
  /** Source address to connect from (the load generator spreads its leechers over 127.0.0.0/8). */
  localAddress?: string
}

/** One full exchange; resolves with the metadata size once its SHA-1 matched. */
export function fetchMetadata (options: FetchOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const want = Buffer.from(options.infoHash, 'hex')
    const socket = net.connect({ host: options.host, port: options.port, noDelay: true, ...(options.localAddress ? { localAddress: options.localAddress } : {}) })
    let buf: Buffer = Buffer.alloc(0)
    let handshaken = false
    let size = -1
    let pieces = 0
    let received = 0
    let requested = 0
    let theirUt = 0
    const window = options.window ?? 0
    let have: Uint8Array | null = null
    let metadata: Buffer | null = null
    let settled = false
    const finish = (err: Error | null): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (err) reject(err)
      else resolve(size)
    }
    const timer = setTimeout(() => finish(new ExchangeError('timeout', `no metadata within ${options.timeoutMs} ms`)), options.timeoutMs)
    socket.on('error', err => finish(new ExchangeError('socket', err.message)))
    socket.on('close', () => finish(new ExchangeError('closed', 'peer closed before the metadata was complete')))
    socket.on('connect', () => {
      const reserved = Buffer.alloc(8)
      reserved[5] |= 0x10 // BEP 10 extension protocol
      const peerId = randomBytes(20)
      peerId.write('-TB0001-', 0, 'latin1')
      socket.write(Buffer.concat([PSTR, reserved, want, peerId, message(MSG_EXTENDED, 0, EXT_HANDSHAKE_MSG)]))
    })

    const requestMore = (): void => {
      const upTo = window > 0 ? Math.min(pieces, received + window) : pieces
      if (requested >= upTo) return
      const requests: Buffer[] = []
      for (; requested < upTo; requested++) requests.push(message(MSG_EXTENDED, theirUt, bencode.encode({ msg_type: 0, piece: requested })))
      socket.write(requests.length === 1 ? requests[0] : Buffer.concat(requests))
    }

    const onExtended = (ext: number, payload: Buffer): void => {
      if (ext === 0) {
        const hs = bencode.decode(payload) as { m?: { ut_metadata?: number }, metadata_size?: number }
        const theirs = hs.m?.ut_metadata
        if (typeof theirs !== 'number' || typeof hs.metadata_size !== 'number' || hs.metadata_size <= 0) {
          return finish(new ExchangeError('no-metadata', 'peer does not offer ut_metadata'))
        }
        size = hs.metadata_size
        pieces = Math.ceil(size / PIECE)
        have = new Uint8Array(pieces)
        metadata = Buffer.allocUnsafe(size)
        theirUt = theirs
        requestMore()
        return
      }
      if (ext !== OUR_UT_METADATA || !metadata || !have) return
      // The bencoded head is a few dozen bytes; decode only that, then find where it ended.
      const head = bencode.decode(payload.subarray(0, Math.min(payload.length, 128))) as { msg_type?: number, piece?: number }
      const headLength = (bencode.decode as unknown as { position: number }).position
      if (head.msg_type === 2) return finish(new ExchangeError('rejected', `peer rejected piece ${head.piece}`))
      if (head.msg_type !== 1 || typeof head.piece !== 'number' || head.piece < 0 || head.piece >= pieces) return
      const data = payload.subarray(headLength)
      const expected = head.piece === pieces - 1 ? size - head.piece * PIECE : PIECE
      if (data.length !== expected) return finish(new ExchangeError('bad-piece', `piece ${head.piece} is ${data.length} bytes, expected ${expected}`))
      if (have[head.piece] === 0) {
        have[head.piece] = 1
        received += 1
        data.copy(metadata, head.piece * PIECE)
      }
      if (received === pieces) {
        const got = createHash('sha1').update(metadata).digest()
        if (!got.equals(want)) return finish(new ExchangeError('bad-hash', 'metadata does not hash to the info hash'))
        finish(null)
      } else if (window > 0) requestMore()
    }

    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      if (!handshaken) {
        if (buf.length < 68) return
        if (!buf.subarray(0, 20).equals(PSTR)) return finish(new ExchangeError('not-bittorrent', 'peer does not speak BitTorrent'))
        if (!buf.subarray(28, 48).equals(want)) return finish(new ExchangeError('wrong-hash', 'peer answered for another info hash'))
        handshaken = true
        buf = buf.subarray(68)
      }
      while (!settled && buf.length >= 4) {
        const length = buf.readUInt32BE(0)
        if (buf.length < 4 + length) break
        if (length >= 2 && buf[4] === MSG_EXTENDED) onExtended(buf[5], buf.subarray(6, 4 + length))
        buf = buf.subarray(4 + length)
      }
    })
  })
}
