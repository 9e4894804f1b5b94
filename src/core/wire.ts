/**
 * bittorrent-protocol's Wire with the guards a public-facing peer needs. The Wire buffers a
 * message of whatever length the peer announces (up to 4 GiB), so we check the length
 * prefix before it starts buffering, and we surface piece requests so they can be counted.
 */
import Wire from 'bittorrent-protocol'
import bencode from 'bencode'
import { MAX_MESSAGE_SIZE } from './constants.ts'

/**
 * Encoded extended handshakes by content. Every connection of a torrent sends the same one,
 * and there are few distinct (metadata_size, port) pairs among the torrents peers ask for.
 */
const handshakeCache = new Map<string, Uint8Array>()
const HANDSHAKE_CACHE_MAX = 4096

export class GuardedWire extends Wire {
  maxMessageSize = MAX_MESSAGE_SIZE

  override _onMessageLength (buffer: Uint8Array): void {
    const length = ((buffer[0] << 24) >>> 0) + (buffer[1] << 16) + (buffer[2] << 8) + buffer[3]
    if (length > this.maxMessageSize) {
      this.emit('oversized', length)
      return
    }
    super._onMessageLength(buffer)
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
