/**
 * Checks every byte the metadata peer sent on one fuzzed connection, with a parser of its own
 * (not the Wire under test): a handshake for a torrent we hold, then only well-formed messages
 * of the kinds a metadata-only peer sends; never a piece; each ut_metadata data message
 * carries exactly the bytes of the info dict at its offset.
 */
import bencode from 'bencode'
import type { FuzzTorrent } from './messages.ts'

const PIECE = 16 * 1024
const PROTOCOL = '\u0013BitTorrent protocol'

export interface Verdict {
  /** Empty when every byte was right. */
  problems: string[]
  /** ut_metadata data messages seen, by piece index. */
  dataPieces: Set<number>
  messages: number
  handshake: boolean
}

function u32 (b: Uint8Array, at: number): number {
  return ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3]
}

function hex (b: Uint8Array): string {
  let s = ''
  for (const x of b) s += x.toString(16).padStart(2, '0')
  return s
}

/** Decodes the bencoded dict at the start of `payload`; returns it and where it ended. */
function leadingDict (payload: Uint8Array): { dict: Record<string, unknown>, end: number } | null {
  let value: unknown
  try { value = bencode.decode(payload) } catch {
    // A data message has raw bytes after its dict: find where the dict ends.
    for (let end = 2; end <= payload.length; end++) {
      if (payload[end - 1] !== 0x65) continue
      try { value = bencode.decode(payload.subarray(0, end)); return isDict(value) ? { dict: value, end } : null } catch {}
    }
    return null
  }
  if (!isDict(value)) return null
  return { dict: value, end: bencode.encode(value).length }
}

function isDict (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
}

/**
 * `torrents` by hex info hash; `peerId` is ours. `encrypted` output (MSE) is only bounded:
 * its bytes are ciphertext after our 96-byte key and up to 512 bytes of padding.
 */
export function validateOutput (out: Uint8Array, torrents: Map<string, FuzzTorrent>, peerId: Uint8Array): Verdict {
  const v: Verdict = { problems: [], dataPieces: new Set(), messages: 0, handshake: false }
  const bad = (why: string): void => { if (v.problems.length < 5) v.problems.push(why) }
  if (out.length === 0) return v
  if (out.length < 68) { bad(`sent ${out.length} bytes, less than a handshake`); return v }
  if (new TextDecoder('latin1').decode(out.subarray(0, 20)) !== PROTOCOL) { bad('does not start with the BitTorrent handshake'); return v }
  const infoHash = hex(out.subarray(28, 48))
  const torrent = torrents.get(infoHash)
  if (!torrent) { bad(`handshake for ${infoHash}, a torrent we do not hold`); return v }
  if (hex(out.subarray(48, 68)) !== hex(peerId)) bad('handshake carries another peer id')
  v.handshake = true
  let extHandshakes = 0
  let at = 68
  while (at < out.length) {
    if (at + 4 > out.length) { bad(`ends in a partial length prefix at byte ${at}`); break }
    const len = u32(out, at)
    if (at + 4 + len > out.length) { bad(`message of ${len} bytes at byte ${at} is cut off`); break }
    const body = out.subarray(at + 4, at + 4 + len)
    at += 4 + len
    v.messages += 1
    if (len === 0) continue // keep-alive
    const id = body[0]
    switch (id) {
      case 0x05: // bitfield: we have nothing
        if (len !== 1 + Math.ceil(torrent.pieceCount / 8)) bad(`bitfield of ${len - 1} bytes for ${torrent.pieceCount} pieces`)
        if (body.subarray(1).some(b => b !== 0)) bad('bitfield claims pieces')
        break
      case 0x0f: // have none
        if (len !== 1) bad(`have_none of length ${len}`)
        break
      case 0x10: // reject (fast): index, begin, length
        if (len !== 13) bad(`reject of length ${len}`)
        break
      case 0x14: {
        const ext = body[1]
        if (len < 2) { bad('empty extended message'); break }
        const parsed = leadingDict(body.subarray(2))
        if (!parsed) { bad(`extended message ${ext} is not a bencoded dictionary`); break }
        if (ext === 0 && 'msg_type' in parsed.dict) { bad('a ut_metadata message sent on extension id N, the extended handshake\'s (peer advertised an id outside 1-255?)'.replace('N', '0')); break }
        if (ext === 0) {
          extHandshakes += 1
          if (extHandshakes > 1) bad('a second extended handshake (a data message on extension id 0?)')
          const m = parsed.dict.m
          const id = isDict(m) ? m.ut_metadata : undefined
          if (typeof id !== 'number' || id < 1 || id > 255) bad(`extended handshake advertises ut_metadata ${String(id)}`)
          if (parsed.dict.metadata_size !== torrent.infoSize) bad(`metadata_size ${String(parsed.dict.metadata_size)}, info is ${torrent.infoSize}`)
          if (parsed.end !== len - 2) bad('bytes after the extended handshake dictionary')
          break
        }
        const { msg_type: type, piece, total_size: total } = parsed.dict
        if (type === 1) {
          if (typeof piece !== 'number' || !Number.isInteger(piece) || piece < 0 || piece >= torrent.metadataPieces) { bad(`data message for piece ${String(piece)}`); break }
          if (total !== torrent.infoSize) bad(`data message with total_size ${String(total)}, info is ${torrent.infoSize}`)
          const data = body.subarray(2 + parsed.end)
          const want = torrent.infoBytes.subarray(piece * PIECE, Math.min((piece + 1) * PIECE, torrent.infoSize))
          if (data.length !== want.length || !data.every((b, i) => b === want[i])) bad(`WRONG DATA: piece ${piece} carries ${data.length} bytes that are not the info dict's`)
          v.dataPieces.add(piece)
        } else if (type === 2) {
          if (typeof piece !== 'number' || !Number.isInteger(piece)) bad(`reject for piece ${String(piece)}`)
          if (parsed.end !== len - 2) bad('bytes after a reject')
        } else {
          bad(`ut_metadata message of type ${String(type)} (we never request metadata)`)
        }
        break
      }
      case 0x07:
        bad('SENT A PIECE MESSAGE')
        break
      default:
        bad(`unexpected message id ${id} (length ${len})`)
    }
  }
  return v
}
