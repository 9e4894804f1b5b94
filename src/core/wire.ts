/**
 * bittorrent-protocol's Wire with the guards a public-facing peer needs. The Wire buffers a
 * message of whatever length the peer announces (up to 4 GiB), so we check the length
 * prefix before it starts buffering, and we surface piece requests so they can be counted.
 *
 * Two more guards (the "received bytes" section below, owned by the hostile-input work):
 * a fault net around everything that runs on received bytes, and linear-time buffering.
 */
import Wire from 'bittorrent-protocol'
import bencode from 'bencode'
import { concat } from 'uint8-util'
import { MAX_MESSAGE_SIZE } from './constants.ts'
import { hookMseKeyExchange, type MseGate } from './mse-hook.ts'

/** The base class's parser state this file relies on (bittorrent-protocol 5.0.9, pinned). */
interface ParserInternals {
  _buffer: Uint8Array[]
  _bufferSize: number
  _parserSize: number
  _cryptoSyncPattern: Uint8Array | null
  _encryptor: { decrypt (data: Uint8Array): Uint8Array } | null
  _finished: boolean
  _parse (size: number, parser: (buf: Uint8Array) => void): void
  _processBuffer (): void
}

function ignore (): void {}

/**
 * Encoded extended handshakes by content. Every connection of a torrent sends the same one,
 * and there are few distinct (metadata_size, port) pairs among the torrents peers ask for.
 */
const handshakeCache = new Map<string, Uint8Array>()
const HANDSHAKE_CACHE_MAX = 4096

export class GuardedWire extends Wire {
  maxMessageSize = MAX_MESSAGE_SIZE
  /** Set once the fault net or a guard has stopped this wire; later bytes are dropped. */
  stopped = false

  /**
   * @param mseGate called before the first Diffie-Hellman operation of an MSE handshake;
   *   it throws a PeerFault to refuse (a budget), which the fault net turns into a close.
   */
  constructor (type: string, peEnabled: number, mseGate?: MseGate) {
    super(type, peEnabled)
    if (peEnabled) hookMseKeyExchange(this, mseGate ?? ignore)
  }

  override _onMessageLength (buffer: Uint8Array): void {
    const length = ((buffer[0] << 24) >>> 0) + (buffer[1] << 16) + (buffer[2] << 8) + buffer[3]
    if (length > this.maxMessageSize) {
      this.stopParsing()
      this.emit('oversized', length)
      return
    }
    super._onMessageLength(buffer)
  }

  // ---- received bytes: fault net and linear buffering ----

  /**
   * Feeds received bytes to the parser. Replaces the base `_write`, which concatenates its
   * whole pending buffer on every chunk (a message arriving in 512-byte segments cost
   * quadratic time): chunks are kept in a list and joined once, when the parser can use them.
   *
   * Everything that runs on received bytes runs under this call (MSE, the parser, the
   * extensions, our handlers and the sends they make), so this is the fault net: a throw
   * from any of it, ours or another package's, stops this wire and is reported as `fault`
   * (the connection closes with a reason); it never reaches the socket's event loop.
   */
  override _write (data: Uint8Array, cb: (err: Error | null) => void): void {
    const self = this as unknown as ParserInternals
    if (this.stopped || self._finished) { cb(null); return }
    try {
      if (self._encryptor) data = self._encryptor.decrypt(data)
      self._bufferSize += data.length
      self._buffer.push(data)
      self._processBuffer()
    } catch (err) {
      this.stopParsing()
      this.emit('fault', err)
    }
    cb(null)
  }

  /** Joins pending chunks only when the parser (or an MSE resync search) needs them whole. */
  _processBuffer (): void {
    const self = this as unknown as ParserInternals
    if (this.stopped) return
    if (self._buffer.length > 1 && (self._cryptoSyncPattern !== null || self._bufferSize >= self._parserSize)) {
      self._buffer = [concat(self._buffer, self._bufferSize)]
    }
    // @ts-expect-error private method of the base class
    super._processBuffer()
  }

  /** Stops parsing what is already buffered and drops what comes later. */
  stopParsing (): void {
    const self = this as unknown as ParserInternals
    this.stopped = true
    self._parse(Number.MAX_VALUE, ignore)
    self._buffer = []
    self._bufferSize = 0
  }

  // Same bytes as the base class (our fields plus `m` from the extension mapping), encoded once.
  _sendExtendedHandshake (): void {
    const self = this as unknown as { extendedMapping: Record<string, string>, _extendedHandshakeSent: boolean }
    const m: Record<string, number> = {}
    for (const id in self.extendedMapping) m[self.extendedMapping[id]] = Number(id)
    const msg = { ...this.extendedHandshake, m }
    const key = JSON.stringify(msg)
    let bytes = handshakeCache.get(key)
    if (!bytes) {
      bytes = bencode.encode(msg)
      if (handshakeCache.size >= HANDSHAKE_CACHE_MAX) handshakeCache.delete(handshakeCache.keys().next().value!)
      handshakeCache.set(key, bytes)
    }
    this.extended(0, bytes)
    self._extendedHandshakeSent = true
  }

  /** A metadata-only peer never sends a piece; this makes that a property of the wire, not a habit. */
  piece (): void {
    throw new Error('torrent-fish never sends piece messages')
  }

  // Called by the Wire for every `request` message; we stay choked so the Wire answers with
  // a reject (fast extension) or drops it, and never with a piece.
  _onRequest (index: number, offset: number, length: number): void {
    this.emit('piece-request', index, offset, length)
    // @ts-expect-error private method of the base class
    super._onRequest(index, offset, length)
  }
}
