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

  /** The peer's id for ut_metadata from its extended handshakes; null = none usable. */
  private id: number | null = null

  constructor (wire: Wire) {
    this.wire = wire
    // Read the id from the handshake dict ourselves: the Wire's mapping coerces anything
    // (a string "3" becomes 51 through its bytes' toString) and is only ever added to.
    wire.on('extended', onWireExtended)
  }

  /**
   * BEP 10: each extended handshake may enable, change or disable (0) an extension; one that
   * does not mention ut_metadata leaves it as it was. Only an integer 1-255 is an id we may
   * send on (ids are one byte; 0 is the handshake's own slot).
   */
  /** @internal */
  onPeerExtendedHandshake (info: unknown): void {
    const m = (info as { m?: unknown } | null)?.m
    if (m === null || typeof m !== 'object' || Array.isArray(m) || ArrayBuffer.isView(m)) return
    if (!Object.hasOwn(m, 'ut_metadata')) return
    const id = (m as Record<string, unknown>).ut_metadata
    this.id = typeof id === 'number' && Number.isInteger(id) && id >= 1 && id <= 255 ? id : null
  }

  attach (sink: MetadataRequestSink): void {
    this.sink = sink
  }

  /** Forgets the connection and the peer's id: a recycled wire (wire-pool.ts) serves another peer next. */
  reset (): void {
    this.sink = null
    this.id = null
  }

  onMessage (buf: Uint8Array): void {
    if (!this.sink) return
    // Nearly every message a metadata peer receives is a request in its canonical bytes:
    // read the piece index from them; anything else takes the general path below.
    const fast = canonicalRequest(buf)
    if (fast >= 0) return this.sink.onMetadataRequest(fast)
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
      // BEP 9: `piece` is an integer. Anything else (a string "0", a list, a float, an integer
      // too large to echo exactly) is a broken or hostile peer: close rather than guess.
      if (typeof piece !== 'number' || !Number.isSafeInteger(piece)) {
        return this.sink.onBadMessage(`ut_metadata request with a piece that is not an integer (${describe(piece)})`)
      }
      this.sink.onMetadataRequest(piece)
    }
    // BEP 9: other types (data, reject, unknown) are ignored; we never asked for metadata.
  }

  /**
   * Sends piece `index` of `info` (BEP 9 data message). Sends on the peer's id for
   * ut_metadata, checked here: the Wire's `extended('ut_metadata')` throws when the id is 0
   * (BEP 10's "disabled") and writes ids above 255 into one byte (256 became id 0, the
   * extended handshake's slot). Returns false, sending nothing, when the peer has no valid id.
   */
  sendPiece (index: number, data: Uint8Array, totalSize: number): boolean {
    const id = this.peerId
    if (id === null) return false
    // The bencoded head (keys in sorted order) and the piece go into one message buffer, copied once.
    const head = dataHead(index, totalSize)
    const wire = this.wire as Wire & { extendedWithData?: (ext: number, head: Uint8Array, data: Uint8Array) => void }
    if (wire.extendedWithData) {
      wire.extendedWithData(id, head, data)
      return true
    }
    const buf = new Uint8Array(head.length + data.length)
    buf.set(head, 0)
    buf.set(data, head.length)
    this.wire.extended(id, buf)
    return true
  }

  /** Rejects a request, echoing the index the peer asked for. Returns false when it cannot send. */
  sendReject (index: number): boolean {
    const id = this.peerId
    if (id === null) return false
    this.wire.extended(id, bencode.encode({ msg_type: MSG_REJECT, piece: index }))
    return true
  }

  /**
   * The peer's extension id for ut_metadata, or null when it has none we may send on: BEP 10
   * ids are one byte, 0 means disabled, and a later extended handshake may change or remove it.
   */
  get peerId (): number | null {
    return this.id
  }

  /** Whether the peer told us a usable id for ut_metadata; without it we cannot answer. */
  get peerSupports (): boolean {
    return this.peerId !== null
  }
}

/** `d8:msg_typei1e5:piecei` and `e10:total_sizei`: a data message's head around its two integers. */
const DATA_PREFIX = Uint8Array.from(`d8:msg_typei${MSG_DATA}e5:piecei`, c => c.charCodeAt(0))
const DATA_MIDDLE = Uint8Array.from('e10:total_sizei', c => c.charCodeAt(0))

function digitCount (n: number): number {
  let d = 1
  while (n >= 10) { n = Math.floor(n / 10); d++ }
  return d
}

function writeDigits (out: Uint8Array, at: number, n: number, digits: number): void {
  for (let i = at + digits - 1; i >= at; i--) { out[i] = DIGIT_0 + (n % 10); n = Math.floor(n / 10) }
}

/**
 * `d8:msg_typei1e5:piecei<index>e10:total_sizei<size>ee`, written straight into its bytes (no
 * string to build and encode per piece). Both integers are non-negative (a piece index we
 * hold, the info dict's length).
 */
export function dataHead (index: number, totalSize: number): Uint8Array {
  const a = digitCount(index)
  const b = digitCount(totalSize)
  const out = new Uint8Array(DATA_PREFIX.length + a + DATA_MIDDLE.length + b + 2)
  out.set(DATA_PREFIX, 0)
  let at = DATA_PREFIX.length
  writeDigits(out, at, index, a)
  at += a
  out.set(DATA_MIDDLE, at)
  at += DATA_MIDDLE.length
  writeDigits(out, at, totalSize, b)
  at += b
  out[at] = LETTER_E
  out[at + 1] = LETTER_E
  return out
}

/** `d8:msg_typei0e5:piecei` (a request's bencoded keys in sorted order, up to the index's digits). */
const REQUEST_PREFIX = Uint8Array.from('d8:msg_typei0e5:piecei', c => c.charCodeAt(0))
const DIGIT_0 = 48
const LETTER_E = 101

/**
 * The piece index of a ut_metadata request written as every client writes it
 * (`d8:msg_typei0e5:piecei<N>ee`, N without leading zeros, at most 15 digits so it is a safe
 * integer), else -1. Bytes after the dict are ignored, as bencode's decoder does.
 */
export function canonicalRequest (buf: Uint8Array): number {
  const n = REQUEST_PREFIX.length
  if (buf.length < n + 3) return -1
  for (let i = 0; i < n; i++) if (buf[i] !== REQUEST_PREFIX[i]) return -1
  let at = n
  let piece = 0
  while (at < buf.length && at - n < 16) {
    const d = buf[at] - DIGIT_0
    if (d < 0 || d > 9) break
    if (at > n && piece === 0) return -1 // a leading zero: not canonical
    piece = piece * 10 + d
    at++
  }
  const digits = at - n
  if (digits === 0 || digits > 15) return -1
  return buf[at] === LETTER_E && buf[at + 1] === LETTER_E ? piece : -1
}

/** One handler for every wire (`this` is the wire): no closure per connection. */
function onWireExtended (this: { ut_metadata?: UtMetadataServer }, ext: string, info: unknown): void {
  if (ext === 'handshake') this.ut_metadata?.onPeerExtendedHandshake(info)
}

function describe (value: unknown): string {
  if (value instanceof Uint8Array) return `a ${value.length}-byte string`
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'number') return String(value)
  return value === undefined ? 'missing' : typeof value
}
UtMetadataServer.prototype.name = 'ut_metadata'
