/**
 * bittorrent-protocol's Wire with the guards a public-facing peer needs and the hot path of a
 * metadata peer made cheap. This file is the one place that reaches into the Wire's internals
 * (`_write`, `_push`, `_buffer`, `_parserSize`, `_sendExtendedHandshake`, `_onHandshakeBuffer`,
 * `_onExtended`, `_ext`, `_nextExt`, `_debug`); the conformance suite runs real leechers
 * through it, test/adapters/contracts.test.ts holds its overrides to the base class's
 * behaviour, and bittorrent-protocol is pinned.
 *
 * - The length prefix is checked before the Wire starts buffering a message (it would buffer
 *   whatever a peer announces, up to 4 GiB).
 * - Received bytes are joined only once a whole message is there: the base class concatenated
 *   everything buffered on every chunk, quadratic in a message's size for a peer that trickles.
 * - Direct mode ({@link GuardedWire.attachDirect}): the transport feeds `feed()` and the wire
 *   hands one joined buffer per tick to a writer, with no stream pipes in between. Every
 *   message the Wire pushes within one tick (handshake, extended handshake, have_none, a data
 *   message) goes out in one write.
 * - Extended messages are built in one allocation (wire-messages.ts); extended handshakes are
 *   encoded once per content; a peer's handshake and extended handshake are read without the
 *   base class's text decoding and copies; debug formatting is skipped unless debugging is on.
 * - A fault net around everything that runs on received bytes (MSE, the parser, extensions,
 *   our handlers and the sends they make): a throw stops this wire and is emitted as `fault`,
 *   so the connection closes with a reason instead of the process dying.
 * - MSE key exchange through one hook ({@link hookMseKeyExchange}) with a budget gate.
 */
import Wire from 'bittorrent-protocol'
import bencode from 'bencode'
import { MAX_MESSAGE_SIZE } from './constants.ts'
import { hookMseKeyExchange, type MseGate } from './mse-hook.ts'
import { decodeBencode } from './bencode-decode.ts'
import { allocateMessage, extendedMessage, HANDSHAKE_FLAGS, HANDSHAKE_HEADS, joinMessages, PROTOCOL, writeExtendedHead, writeHex } from './wire-messages.ts'

/**
 * Encoded extended handshakes (the whole wire message) by content. Every connection of a
 * torrent sends the same one, and there are few distinct (metadata_size, port) pairs among
 * the torrents peers ask for.
 */
const handshakeCache = new Map<string, Uint8Array>()
const HANDSHAKE_CACHE_MAX = 4096
/** The same bytes by (frozen) handshake object, for callers that reuse one object per content. */
const handshakeByObject = new WeakMap<object, { mapping: string, bytes: Uint8Array }>()

/** Whether the `debug` package would print bittorrent-protocol's lines (DEBUG / localStorage.debug). */
const DEBUG_ON = (() => {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> }, localStorage?: { debug?: string } }
  try { return Boolean(g.process?.env?.DEBUG ?? g.localStorage?.debug) } catch { return false }
})()

/**
 * A tick's output from this size on is written as its messages (one gathering write) rather
 * than joined: a request-all for a 500 KiB info dict was a zero-filled 500 KiB buffer and a
 * copy of every piece into it, per exchange. Below it, one joined buffer is the cheaper write.
 */
export const WRITE_CHUNKS_MIN = 64 * 1024

const noop = (): void => {}
/** The base class's handler of extended messages, for those that are not the handshake. */
const baseOnExtended = (Wire.prototype as unknown as { _onExtended (ext: number, buf: Uint8Array): void })._onExtended
const EMPTY = new Uint8Array(0)

/** What the Wire keeps of its private parser state (bittorrent-protocol 5.0.x). */
interface WireInternals {
  _buffer: Uint8Array[]
  _bufferSize: number
  _parserSize: number
  _cryptoSyncPattern: Uint8Array | null
  _encryptor: { decrypt (d: Uint8Array): Uint8Array, encrypt (d: Uint8Array): Uint8Array } | null
  _finished: boolean
  _processBuffer (): void
  _parse (size: number, parser: (buf: Uint8Array) => void): void
  _parser: (buf: Uint8Array) => void
  extendedMapping: Record<string, string>
  peerExtendedMapping: Record<string, number>
  peerExtendedHandshake: unknown
  _ext: Record<string, { onExtendedHandshake (handshake: unknown): void }>
  _extendedHandshakeSent: boolean
  /** The id the next `use()` gives (bittorrent-protocol counts up from 1). */
  _nextExt: number
}

/**
 * Where a wire reports what its owner must act on, as calls on one object instead of events:
 * a connection registers no listener (and allocates no closure) for them.
 */
export interface WireSink {
  /** Direct mode: what this tick pushed, as one buffer. */
  writeOut (chunk: Uint8Array): void
  /**
   * Direct mode, a tick of at least `gatherFrom` bytes (a request-all for a large info dict):
   * its messages as they were pushed, the pieces views of the cached info dict, for one
   * gathering write. Without it, they are joined and go to writeOut.
   */
  writeOutChunks? (chunks: Uint8Array[], total: number): void
  /**
   * The tick size from which writeOutChunks gets the messages unjoined (default
   * WRITE_CHUNKS_MIN): lower where a gathering write costs no more than a plain one.
   */
  readonly gatherFrom?: number
  /** A throw from something that ran on the peer's bytes (see `_write`). */
  onFault (err: unknown): void
  /** The peer announced a message longer than `maxMessageSize`. */
  onOversized (length: number): void
  /** A BitTorrent piece request (refused: we never send pieces). */
  onPieceRequest (): void
  /** Direct mode: the wire ended the connection (not BitTorrent, a failed MSE resync). */
  onWireEnd (): void
}

/**
 * A wire's extension mapping as a key (`m<name>\0<id>\0` per extension), remembered per
 * mapping object: it only changes through `use()`, which also moves `_nextExt` on. Building
 * it walked an integer-keyed object with `for...in` (a key array allocated) and concatenated
 * strings on every connection; a recycled wire keeps the same mapping object.
 */
const mappingKeys = new WeakMap<object, { next: number, key: string }>()
function mappingKey (self: WireInternals): string {
  const next = self._nextExt
  const known = mappingKeys.get(self.extendedMapping)
  if (known !== undefined && known.next === next) return known.key
  let key = ''
  for (const id in self.extendedMapping) key += `m${self.extendedMapping[id]}\u0000${id}\u0000`
  mappingKeys.set(self.extendedMapping, { next, key })
  return key
}

export class GuardedWire extends Wire {
  maxMessageSize = MAX_MESSAGE_SIZE
  /** Set once the fault net or a guard has stopped this wire; later bytes are dropped. */
  stopped = false
  /** Gets faults, oversized lengths, piece requests (and in direct mode the output); without one they are events. */
  sink: WireSink | null = null
  /** Direct mode (see {@link attachDirect}); stays set once the wire has ended. */
  private direct = false
  /** Direct mode: the messages of this tick not yet written. */
  private out: Uint8Array[] = []
  private outBytes = 0
  private flushQueued = false
  private readonly flushBound = (): void => this.flush()

  /**
   * @param mseGate called before the first Diffie-Hellman operation of an MSE handshake;
   *   it throws a PeerFault to refuse (a budget), which the fault net turns into a close.
   */
  constructor (type: string, peEnabled: number, mseGate?: MseGate) {
    super(type, peEnabled)
    this.plaintextOnly = !peEnabled
    if (peEnabled) hookMseKeyExchange(this, mseGate ?? noop)
  }

  override _onMessageLength (buffer: Uint8Array): void {
    const length = ((buffer[0] << 24) >>> 0) + (buffer[1] << 16) + (buffer[2] << 8) + buffer[3]
    if (length > this.maxMessageSize) {
      this.stopParsing()
      if (this.sink) this.sink.onOversized(length)
      else this.emit('oversized', length)
      return
    }
    super._onMessageLength(buffer)
  }

  /**
   * Bypasses the Wire's stream interface: bytes come in through {@link feed}, and every
   * message pushed within one tick reaches `sink.writeOut` as one buffer. `end()` (a peer that
   * does not speak BitTorrent, a failed MSE resync) then calls `sink.onWireEnd` instead of
   * ending a stream nobody reads.
   */
  attachDirect (sink: WireSink): void {
    this.sink = sink
    this.direct = true
  }

  /** Direct mode: bytes received from the peer. */
  feed (chunk: Uint8Array): void {
    this._write(chunk, noop)
  }

  /**
   * Same parsing as the base class, but chunks are joined only once the parser can consume
   * them (or MSE needs to search them for its sync pattern, bounded by the Wire): the base
   * class concatenated its whole pending buffer on every chunk, quadratic for a trickling peer.
   *
   * This is also the fault net: everything that runs on received bytes runs under this call,
   * so a throw from any of it, ours or another package's, stops this wire and is reported as
   * `fault` (the connection closes with a reason); it never reaches the socket's event loop.
   */
  override _write (data: Uint8Array, cb: (err: Error | null) => void): void {
    const self = this as unknown as WireInternals
    if (this.stopped || self._finished) { cb(null); return }
    try {
      if (self._encryptor) data = self._encryptor.decrypt(data)
      // Bytes that came in while a parse loop runs (from under its parser) go after its rest.
      if (this.parsing !== null) this.unparsedBack()
      self._bufferSize += data.length
      self._buffer.push(data)
      self._processBuffer()
    } catch (err) {
      this.stopParsing()
      if (this.sink) this.sink.onFault(err)
      else this.emit('fault', err)
    }
    cb(null)
  }

  /** Joins pending chunks only when the parser (or an MSE resync search) needs them whole. */
  _processBuffer (): void {
    const self = this as unknown as WireInternals
    if (this.stopped) return
    if (this.parsing !== null) this.unparsedBack()
    if (self._buffer.length > 1 && (self._cryptoSyncPattern !== null || self._bufferSize >= self._parserSize)) {
      const whole = joinMessages(self._buffer, self._bufferSize)
      self._buffer.length = 0
      self._buffer.push(whole)
    }
    if (this.plaintextOnly) return this.parseBuffered()
    // @ts-expect-error private method of the base class
    super._processBuffer()
  }

  /** The buffer {@link parseBuffered} is reading, and how far it has handed it to the parser. */
  private parsing: Uint8Array | null = null
  private parsedTo = 0
  /** Built without MSE: no sync pattern to search for, nothing pending on a key exchange. */
  private readonly plaintextOnly: boolean

  /**
   * The base class's parse loop without its allocations per message: it cut the rest of the
   * buffer off as a new view in a new one-element array for every message (a handshake,
   * extended handshake and request are ~8 of them). Here the parser gets a view of each
   * message, the rest is an offset, and what is left over goes back once, at the end.
   */
  private parseBuffered (): void {
    const self = this as unknown as WireInternals
    if (self._bufferSize < self._parserSize) return
    const buffer = self._buffer.length > 0 ? self._buffer[0] : EMPTY
    this.parsing = buffer
    this.parsedTo = 0
    while (self._bufferSize >= self._parserSize) {
      const size = self._parserSize
      const at = this.parsedTo
      self._bufferSize -= size
      this.parsedTo = at + size
      self._parser(size === 0 ? new Uint8Array(0) : buffer.subarray(at, at + size))
      // The parser stopped this wire (stopParsing) or more bytes came in under it (feed).
      if (this.parsing !== buffer) return
    }
    this.unparsedBack()
  }

  /** What parseBuffered has not handed to the parser yet, back into the Wire's buffer list. */
  private unparsedBack (): void {
    const self = this as unknown as WireInternals
    const buffer = this.parsing!
    this.parsing = null
    self._buffer.length = 0
    if (self._bufferSize > 0) self._buffer.push(this.parsedTo === 0 ? buffer : buffer.subarray(this.parsedTo))
  }

  /** Stops parsing what is already buffered and drops what comes later. */
  stopParsing (): void {
    const self = this as unknown as WireInternals
    this.stopped = true
    this.parsing = null
    self._parse(Number.MAX_VALUE, noop)
    self._buffer = []
    self._bufferSize = 0
  }

  _push (data: Uint8Array): boolean {
    if (!this.direct) {
      // @ts-expect-error private method of the base class
      return super._push(data)
    }
    const self = this as unknown as WireInternals
    if (self._finished) return false
    if (self._encryptor) data = self._encryptor.encrypt(data)
    this.out.push(data)
    this.outBytes += data.length
    if (!this.flushQueued) {
      this.flushQueued = true
      queueMicrotask(this.flushBound)
    }
    return true
  }

  /** Writes what this tick pushed, as one buffer. */
  flush (): void {
    this.flushQueued = false
    const { out, sink } = this
    if (out.length === 0 || sink === null || (this as unknown as WireInternals)._finished) return
    const total = this.outBytes
    this.outBytes = 0
    if (sink.writeOutChunks && total >= (sink.gatherFrom ?? WRITE_CHUNKS_MIN)) {
      this.out = []
      sink.writeOutChunks(out, total)
      return
    }
    // One chunk is a whole message of its own (extendedWithData always pushes two).
    const chunk = out.length === 1 ? out[0] : joinMessages(out, total)
    out.length = 0
    sink.writeOut(chunk)
  }

  override end (data?: unknown): this {
    if (!this.direct) return super.end(data)
    const self = this as unknown as WireInternals
    if (self._finished) return this
    self._finished = true
    this.out = []
    const sink = this.sink
    this.sink = null
    if (sink) sink.onWireEnd()
    else this.emit('close')
    return this
  }

  override destroy (): this {
    if (!this.direct) return super.destroy()
    return this.end()
  }

  /**
   * The same handshake bytes and state as the base class, in one allocation: the base class
   * lowercases and decodes the hex hash, allocates the reserved bytes and a fresh extensions
   * record, and concatenates four buffers, per connection. Plaintext direct mode with a hex
   * hash and a 20-byte peer id (what PeerConnection sends); anything else goes to the base class.
   */
  override handshake (infoHash: string | Uint8Array, peerId: string | Uint8Array, extensions?: { dht?: boolean, fast?: boolean }): void {
    const self = this as unknown as WireInternals & { _infoHash: Uint8Array | null, _handshakeSent: boolean }
    if (!this.direct || self._encryptor || self._finished || typeof infoHash !== 'string' || infoHash.length !== 40 || !(peerId instanceof Uint8Array) || peerId.length !== 20) {
      super.handshake(infoHash, peerId, extensions)
      return
    }
    const flags = (extensions?.dht ? 1 : 0) | (extensions?.fast ? 2 : 0)
    // The bytes are not zeroed (see setMessageAllocator): every one of the 68 must be written.
    const message = allocateMessage(68)
    message.set(HANDSHAKE_HEADS[flags], 0)
    if (peerId.length !== 20 || !writeHex(message, 28, infoHash)) {
      super.handshake(infoHash, peerId, extensions)
      return
    }
    message.set(peerId, 48)
    self._infoHash = message.subarray(28, 48)
    this.extensions = HANDSHAKE_FLAGS[flags] as typeof this.extensions
    // BEP 6: the fast extension is on only when both ends set the bit.
    if ((flags & 2) !== 0 && this.peerExtensions.fast) this.hasFast = true
    this._push(message)
    self._handshakeSent = true
  }

  /** `extended()` in one allocation; `head` may be an object to bencode or its bytes. */
  override extended (ext: number | string, obj: unknown): void {
    const id = this.extensionId(ext)
    if (id < 0) return
    const head = ArrayBuffer.isView(obj) ? obj as Uint8Array : bencode.encode(obj)
    this._push(extendedMessage(id, head))
  }

  /**
   * An extended message of a bencoded head and raw bytes after it (a BEP 9 data message). In
   * plaintext direct mode the bytes are not copied here: the head goes out as its own small
   * chunk and `data` as a view, both copied once into the tick's buffer by {@link flush}
   * (copying them here too cost an allocation and a copy of up to 16 KiB per piece, and a
   * second copy whenever two pieces left in one tick).
   */
  extendedWithData (ext: number | string, head: Uint8Array, data: Uint8Array): void {
    const id = this.extensionId(ext)
    if (id < 0) return
    const self = this as unknown as WireInternals
    if (!this.direct || self._encryptor) {
      this._push(extendedMessage(id, head, data))
      return
    }
    const start = new Uint8Array(6 + head.length)
    writeExtendedHead(start, id, head, data.length)
    this._push(start)
    // A view of the caller's bytes (the cached info dict): flush() copies it before writing.
    this._push(data)
  }

  /**
   * The peer's id for an extension (a number is used as is). An id the peer never gave, or one
   * outside 1-255 (0 is the extended handshake itself), would put our message under the wrong
   * id: that is the peer's error, reported as `error` (its connection closes), never thrown.
   */
  private extensionId (ext: number | string): number {
    const id = typeof ext === 'string' ? (this as unknown as WireInternals).peerExtendedMapping[ext] : ext
    if (Number.isInteger(id) && id >= 1 && id <= 255) return id
    if (typeof ext === 'number' && ext === 0) return 0
    this.emit('error', new Error(`peer gave ${String(ext)} the extension id ${String(id)}, outside 1-255`))
    return -1
  }

  // Same bytes as the base class (our fields plus `m` from the extension mapping), encoded once.
  _sendExtendedHandshake (): void {
    const self = this as unknown as WireInternals
    const hs = this.extendedHandshake as Record<string, unknown>
    const mapping = mappingKey(self)
    // A caller that shares one (unchanged) handshake object between connections skips even
    // building the content key: the object itself finds the bytes.
    const shared = handshakeByObject.get(hs)
    if (shared && shared.mapping === mapping) {
      this._push(shared.bytes)
      self._extendedHandshakeSent = true
      return
    }
    let key = mapping
    for (const k in hs) key += `${k}\u0000${String(hs[k])}\u0000`
    let bytes = handshakeCache.get(key)
    if (!bytes) {
      const m: Record<string, number> = {}
      for (const id in self.extendedMapping) m[self.extendedMapping[id]] = Number(id)
      bytes = extendedMessage(0, bencode.encode({ ...hs, m }), undefined, true)
      if (handshakeCache.size >= HANDSHAKE_CACHE_MAX) handshakeCache.delete(handshakeCache.keys().next().value!)
      handshakeCache.set(key, bytes)
    }
    if (Object.isFrozen(hs)) handshakeByObject.set(hs, { mapping, bytes })
    this._push(bytes)
    self._extendedHandshakeSent = true
  }

  /**
   * The base class's reading of a handshake, without turning the protocol string into text
   * (a text decoder call per connection) to compare it: the same bytes are compared as bytes.
   * The rest is the base class's, step for step.
   */
  _onHandshakeBuffer (handshake: Uint8Array): void {
    for (let i = 0; i < 19; i++) {
      if (handshake[i] !== PROTOCOL[i + 1]) { this.end(); return }
    }
    const self = this as unknown as WireInternals & { _onHandshake (infoHash: Uint8Array, peerId: Uint8Array, extensions: { dht: boolean, fast: boolean, extended: boolean }): void, _onMessageLength (b: Uint8Array): void }
    const rest = handshake.slice(19)
    self._onHandshake(rest.slice(8, 28), rest.slice(28, 48), {
      dht: (rest[7] & 0x01) !== 0, // BEP 5
      fast: (rest[7] & 0x04) !== 0, // BEP 6
      extended: (rest[5] & 0x10) !== 0 // BEP 10
    })
    self._parse(4, self._onMessageLength)
  }

  /**
   * The peer's extended handshake (id 0) as the base class takes it, decoded by
   * bencode-decode.ts instead of the bencode library (same values, same inputs ignored, a
   * fraction of the cost); a message on one of our extensions goes to its handler as the base
   * class sends it, anything else to the base class.
   */
  _onExtended (ext: number, buf: Uint8Array): void {
    const self = this as unknown as WireInternals
    if (ext !== 0) {
      // The base class's dispatch by our mapping (id -> extension name -> handler), through
      // property reads made here on objects of one shape, not in its shared megamorphic code.
      const name = self.extendedMapping[ext]
      if (name === undefined) return baseOnExtended.call(this, ext, buf)
      const handler = self._ext[name] as { onMessage? (buf: Uint8Array): void } | undefined
      if (handler?.onMessage) handler.onMessage(buf)
      this.emit('extended', name, buf)
      return
    }
    const info = decodeBencode(buf) as Record<string, unknown> | null | undefined
    // Nothing usable (not bencoded, empty, or a value that is falsy) is ignored, as the base class does.
    if (!info) return
    self.peerExtendedHandshake = info
    // The base class's mapping, with its coercions (our ut_metadata server reads the dict itself).
    const m = info.m as Record<string, { toString (): string }> | undefined
    if (typeof m === 'object') for (const name in m) self.peerExtendedMapping[name] = Number(m[name].toString())
    for (const name in self._ext) {
      if (self.peerExtendedMapping[name]) self._ext[name].onExtendedHandshake(info)
    }
    this.emit('extended', 'handshake', info)
  }

  /** A metadata-only peer never sends a piece; this makes that a property of the wire, not a habit. */
  piece (): void {
    throw new Error('torrent-fish never sends piece messages')
  }

  // Called by the Wire for every `request` message; we stay choked so the Wire answers with
  // a reject (fast extension) or drops it, and never with a piece.
  _onRequest (index: number, offset: number, length: number): void {
    if (this.sink) this.sink.onPieceRequest()
    else this.emit('piece-request', index, offset, length)
    // @ts-expect-error private method of the base class
    super._onRequest(index, offset, length)
  }
}

// The Wire formats a debug line (template string + rest array) on every message; skip that
// unless debugging is on. Replaced on the prototype so the base class's calls use it too.
if (!DEBUG_ON) (GuardedWire.prototype as unknown as { _debug: () => void })._debug = noop
