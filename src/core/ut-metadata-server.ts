/**
 * The serving half of BEP 9 (ut_metadata) as a bittorrent-protocol extension.
 *
 * Why not the `ut_metadata` package itself: it is a fetcher first. Given metadata it
 * re-decodes and re-encodes it on every connection (`setMetadata` pulls `info` out of a
 * decoded dict), which costs CPU per exchange and is not byte-exact for non-canonical
 * dicts; it also needs the whole info dict in memory before the handshake, while we know
 * `metadata_size` from the index and read the bytes only when a piece is asked for.
 * We keep its message format and use the package as the real leecher in tests.
 */
import bencode from 'bencode'
import { text2arr } from 'uint8-util'
import type Wire from 'bittorrent-protocol'

/** BEP 9 message types. */
export const MSG_REQUEST = 0
export const MSG_DATA = 1
export const MSG_REJECT = 2

/** What the extension hands to the connection that owns it. */
export interface MetadataRequestSink {
  onMetadataRequest (piece: number): void
  onBadMessage (why: string): void
}

export class UtMetadataServer {
  declare name: string
  private readonly wire: Wire
  private sink: MetadataRequestSink | null = null

  constructor (wire: Wire) {
    this.wire = wire
  }

  attach (sink: MetadataRequestSink): void {
    this.sink = sink
  }

  onMessage (buf: Uint8Array): void {
    if (!this.sink) return
    let msg: unknown
    try {
      // A data message carries raw bytes after the dict; decode stops at the dict's end.
      msg = bencode.decode(buf)
    } catch {
      return this.sink.onBadMessage('ut_metadata message is not bencoded')
    }
    if (msg === null || typeof msg !== 'object') return this.sink.onBadMessage('ut_metadata message is not a dictionary')
    const { msg_type: type, piece } = msg as { msg_type?: unknown, piece?: unknown }
    if (type === MSG_REQUEST) {
      // An index that is not a non-negative integer is answered like an out-of-range one.
      this.sink.onMetadataRequest(typeof piece === 'number' && Number.isSafeInteger(piece) ? piece : -1)
    }
    // BEP 9: other types (data, reject, unknown) are ignored; we never asked for metadata.
  }

  /** Sends piece `index` of `info` (BEP 9 data message). */
  sendPiece (index: number, data: Uint8Array, totalSize: number): void {
    // The bencoded head (keys in sorted order) and the piece go into one message buffer, copied once.
    const head = text2arr(`d8:msg_typei${MSG_DATA}e5:piecei${index}e10:total_sizei${totalSize}ee`)
    const wire = this.wire as Wire & { extendedWithData?: (ext: string, head: Uint8Array, data: Uint8Array) => void }
    if (wire.extendedWithData) return wire.extendedWithData('ut_metadata', head, data)
    const buf = new Uint8Array(head.length + data.length)
    buf.set(head, 0)
    buf.set(data, head.length)
    this.wire.extended('ut_metadata', buf)
  }

  sendReject (index: number): void {
    this.wire.extended('ut_metadata', { msg_type: MSG_REJECT, piece: index })
  }

  /** Whether the peer told us its id for ut_metadata; without it we cannot answer. */
  get peerSupports (): boolean {
    return this.wire.peerExtendedMapping.ut_metadata !== undefined
  }
}
UtMetadataServer.prototype.name = 'ut_metadata'
