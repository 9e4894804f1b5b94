/**
 * What a fuzz case sends: valid BitTorrent message sequences (handshake, extended handshake,
 * ut_metadata requests, bitfields, keep-alives, the fast extension...) built from a seed, to
 * be mutated afterwards. Encoded here by hand, not with the Wire under test.
 */
import bencode from 'bencode'
import { Rng, concat } from './prng.ts'

const PROTOCOL = new TextEncoder().encode('\u0013BitTorrent protocol')
/** Our ut_metadata id: the first (only) extension the peer registers. */
export const OUR_UT_METADATA_ID = 1

export interface FuzzTorrent {
  infoHash: Uint8Array
  infoHashHex: string
  infoBytes: Uint8Array
  infoSize: number
  pieceCount: number
  metadataPieces: number
}

function u32 (n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])
}

function message (id: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return concat(u32(payload.length + 1), new Uint8Array([id]), payload)
}

export function handshake (rng: Rng, infoHash: Uint8Array, ext = true, fast = rng.chance(0.7)): Uint8Array {
  const reserved = new Uint8Array(8)
  if (ext) reserved[5] |= 0x10
  if (fast) reserved[7] |= 0x04
  if (rng.chance(0.3)) reserved[7] |= 0x01 // DHT
  return concat(PROTOCOL, reserved, infoHash, rng.bytes(20))
}

/** A `m.ut_metadata` value: mostly valid ids, sometimes the ones BEP 10 calls "disabled" or out of range. */
function utMetadataId (rng: Rng): unknown {
  if (rng.chance(0.85)) return rng.pick([1, 2, 3, 7, 200, 255])
  return rng.pick<unknown>([0, 256, -1, 65536, Buffer.from('x'), [], {}])
}

export function extendedHandshake (rng: Rng, torrent: FuzzTorrent): Uint8Array {
  const m: Record<string, unknown> = {}
  if (rng.chance(0.95)) m.ut_metadata = utMetadataId(rng)
  if (rng.chance(0.3)) m.ut_pex = rng.range(1, 255)
  if (rng.chance(0.2)) m.lt_donthave = rng.range(1, 255)
  const dict: Record<string, unknown> = { m }
  if (rng.chance(0.5)) dict.v = Buffer.from('fuzz 1.0')
  if (rng.chance(0.3)) dict.metadata_size = rng.chance(0.5) ? torrent.infoSize : rng.range(0, 1 << 24)
  if (rng.chance(0.3)) dict.p = rng.range(0, 65535)
  if (rng.chance(0.2)) dict.reqq = rng.range(0, 1000)
  // Sometimes not a dictionary at all, or m not a dictionary.
  const value = rng.chance(0.03) ? rng.pick<unknown>([[], 5, Buffer.from('m')]) : rng.chance(0.03) ? { m: rng.pick<unknown>([[], 0, Buffer.from('')]) } : dict
  return message(20, concat(new Uint8Array([0]), bencode.encode(value)))
}

export function metadataRequest (rng: Rng, torrent: FuzzTorrent, extId = OUR_UT_METADATA_ID): Uint8Array {
  let piece: unknown = rng.int(torrent.metadataPieces)
  if (rng.chance(0.1)) piece = rng.pick<unknown>([torrent.metadataPieces, -1, 1e18, 2 ** 31, Buffer.from('0'), Buffer.from('0.5'), []])
  const msg: Record<string, unknown> = { msg_type: rng.chance(0.95) ? 0 : rng.pick([1, 2, 3, -1]), piece }
  if (rng.chance(0.05)) delete msg.piece
  if (rng.chance(0.1)) msg.total_size = rng.range(0, 1 << 20)
  return message(20, concat(new Uint8Array([extId]), bencode.encode(msg)))
}

/** Any other message a real peer might send. */
export function otherMessage (rng: Rng, torrent: FuzzTorrent): Uint8Array {
  switch (rng.int(14)) {
    case 0: return u32(0) // keep-alive
    case 1: return message(rng.int(4)) // choke / unchoke / interested / not interested
    case 2: return message(4, u32(rng.int(torrent.pieceCount + 2))) // have
    case 3: { // bitfield, right or wrong length
      const len = rng.chance(0.8) ? Math.ceil(torrent.pieceCount / 8) : rng.range(0, 300)
      return message(5, rng.bytes(len))
    }
    case 4: return message(6, concat(u32(rng.int(torrent.pieceCount)), u32(0), u32(16384))) // request
    case 5: return message(8, concat(u32(rng.int(torrent.pieceCount)), u32(0), u32(16384))) // cancel
    case 6: return message(9, new Uint8Array([rng.u32() & 0xff, rng.u32() & 0xff])) // port
    case 7: return message(rng.pick([0x0e, 0x0f])) // have all / have none
    case 8: return message(0x0d, u32(rng.int(torrent.pieceCount))) // suggest
    case 9: return message(0x11, u32(rng.int(torrent.pieceCount))) // allowed fast
    case 10: return message(0x10, concat(u32(0), u32(0), u32(16384))) // reject
    case 11: return message(7, concat(u32(0), u32(0), rng.bytes(rng.range(0, 64)))) // piece (unsolicited)
    case 12: return message(20, concat(new Uint8Array([rng.range(2, 255)]), rng.bytes(rng.range(0, 40)))) // unknown extension
    default: return message(rng.range(21, 255), rng.bytes(rng.range(0, 20))) // unknown id
  }
}

export interface Sequence {
  bytes: Uint8Array
  /** Messages in the sequence before mutation (the handshake counts as one). */
  messages: number
}

/** A valid session opening: handshake, extended handshake, then a mix of requests and other messages. */
export function validSequence (rng: Rng, torrent: FuzzTorrent): Sequence {
  const parts: Uint8Array[] = [handshake(rng, torrent.infoHash, rng.chance(0.97))]
  if (rng.chance(0.9)) parts.push(extendedHandshake(rng, torrent))
  const n = rng.range(0, 24)
  for (let i = 0; i < n; i++) {
    const r = rng.int(10)
    if (r < 5) parts.push(metadataRequest(rng, torrent))
    else if (r === 5) parts.push(extendedHandshake(rng, torrent)) // a second one may change the mapping
    else parts.push(otherMessage(rng, torrent))
  }
  return { bytes: concat(...parts), messages: parts.length }
}

/** A well-behaved leecher's whole exchange: every metadata piece asked once. */
export function politeSequence (rng: Rng, torrent: FuzzTorrent): Sequence {
  const parts: Uint8Array[] = [handshake(rng, torrent.infoHash, true, true)]
  parts.push(message(20, concat(new Uint8Array([0]), bencode.encode({ m: { ut_metadata: 3 }, v: Buffer.from('polite') }))))
  for (let p = 0; p < torrent.metadataPieces; p++) {
    parts.push(message(20, concat(new Uint8Array([OUR_UT_METADATA_ID]), bencode.encode({ msg_type: 0, piece: p }))))
  }
  return { bytes: concat(...parts), messages: parts.length }
}

/** Messages that keep a connection open: the bulk of a long session, to be mutated one by one. */
function quietMessage (rng: Rng, torrent: FuzzTorrent): Uint8Array {
  switch (rng.int(9)) {
    case 0: return u32(0)
    case 1: return message(rng.int(4))
    case 2: return message(4, u32(rng.int(torrent.pieceCount)))
    case 3: return message(6, concat(u32(rng.int(torrent.pieceCount)), u32(rng.int(4) * 16384), u32(16384)))
    case 4: return message(8, concat(u32(rng.int(torrent.pieceCount)), u32(0), u32(16384)))
    case 5: return message(9, new Uint8Array([rng.u32() & 0xff, rng.u32() & 0xff]))
    case 6: return message(0x0d, u32(rng.int(torrent.pieceCount)))
    case 7: return message(0x11, u32(rng.int(torrent.pieceCount)))
    default: return message(20, concat(new Uint8Array([rng.range(2, 255)]), bencode.encode({ x: rng.range(0, 1000) })))
  }
}

/**
 * A long session: a valid opening, then 50-400 messages each mutated with some probability
 * (inside its payload mostly, so framing mostly survives and the parser goes deep), with a
 * few metadata requests among them.
 */
export function longSequence (rng: Rng, torrent: FuzzTorrent): Sequence {
  const parts: Uint8Array[] = [handshake(rng, torrent.infoHash, true), message(20, concat(new Uint8Array([0]), bencode.encode({ m: { ut_metadata: rng.range(1, 255) } })))]
  const n = rng.range(50, 400)
  let requests = 0
  for (let i = 0; i < n; i++) {
    let m = requests < 2 * torrent.metadataPieces && rng.chance(0.03) ? (requests++, metadataRequest(rng, torrent)) : quietMessage(rng, torrent)
    if (rng.chance(0.02)) {
      // Flip a bit past the length prefix: the message stays framed, its content does not.
      m = m.slice()
      const at = m.length > 4 ? rng.range(4, m.length - 1) : rng.int(m.length)
      m[at] ^= 1 << rng.int(8)
    }
    parts.push(m)
  }
  return { bytes: concat(...parts), messages: parts.length }
}
