/**
 * BitTorrent bytes the floods send: the BEP 3 handshake, length-prefixed messages, BEP 10
 * extended messages, and an incremental reader for the peer's replies (handshake, then
 * messages). Built by hand on purpose: a flood must be able to send what no library would.
 */
import { randomBytes } from 'node:crypto'
import bencode from 'bencode'

export const PSTR = Buffer.from('\x13BitTorrent protocol', 'latin1')
export const MSG_EXTENDED = 20

/** 68-byte handshake with the extension-protocol (BEP 10) and fast (BEP 6) bits set. */
export function handshake (infoHash: string, peerId: Buffer = randomPeerId()): Buffer {
  const reserved = Buffer.alloc(8)
  reserved[5] |= 0x10 // BEP 10
  reserved[7] |= 0x04 // BEP 6
  return Buffer.concat([PSTR, reserved, Buffer.from(infoHash, 'hex'), peerId])
}

export function randomPeerId (): Buffer {
  const id = randomBytes(20)
  id.write('-HF0001-', 0, 'latin1')
  return id
}

/** A message: 4-byte big-endian length, id, payload. */
export function message (id: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length)
  out.writeUInt32BE(1 + payload.length, 0)
  out[4] = id
  out.set(payload, 5)
  return out
}

/** A BEP 10 extended message: id 20, extension id, payload. */
export function extended (ext: number, payload: Uint8Array): Buffer {
  const body = Buffer.allocUnsafe(1 + payload.length)
  body[0] = ext
  body.set(payload, 1)
  return message(MSG_EXTENDED, body)
}

/** An extended handshake with the given `m` (which may be anything, for the bad floods). */
export function extHandshake (m: unknown, extra: Record<string, unknown> = {}): Buffer {
  return extended(0, bencode.encode({ m, v: 'hostile-flood 1', ...extra }))
}

/** A ut_metadata request (BEP 9 msg_type 0) for `piece`, sent on the peer's extension id. */
export function metadataRequest (peerExtId: number, piece: number): Buffer {
  return extended(peerExtId, bencode.encode({ msg_type: 0, piece }))
}

export interface PeerMessage {
  id: number
  payload: Buffer
}

/**
 * Reads the peer's side of a connection: the 68-byte handshake, then messages. Returns
 * false from push() once the peer's bytes stop making sense (not BitTorrent).
 */
export class PeerReader {
  handshaken = false
  /** The peer's ut_metadata extension id from its extended handshake, once seen. */
  peerUtMetadata: number | undefined
  private buf: Buffer = Buffer.alloc(0)
  private readonly onMessage: (m: PeerMessage) => void

  constructor (onMessage: (m: PeerMessage) => void = () => {}) {
    this.onMessage = onMessage
  }

  push (chunk: Buffer): boolean {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    if (!this.handshaken) {
      if (this.buf.length < 68) return true
      if (!this.buf.subarray(0, 20).equals(PSTR)) return false
      this.handshaken = true
      this.buf = this.buf.subarray(68)
    }
    while (this.buf.length >= 4) {
      const length = this.buf.readUInt32BE(0)
      if (length > 1 << 20) return false
      if (this.buf.length < 4 + length) break
      if (length > 0) {
        const m = { id: this.buf[4], payload: this.buf.subarray(5, 4 + length) }
        if (m.id === MSG_EXTENDED && m.payload[0] === 0) this.readExtHandshake(m.payload.subarray(1))
        this.onMessage(m)
      }
      this.buf = this.buf.subarray(4 + length)
    }
    return true
  }

  private readExtHandshake (payload: Buffer): void {
    try {
      const hs = bencode.decode(payload) as { m?: { ut_metadata?: unknown } }
      if (typeof hs.m?.ut_metadata === 'number') this.peerUtMetadata = hs.m.ut_metadata
    } catch { /* the peer's handshake is not ours to judge */ }
  }
}
