/**
 * A guard on the bencode library's decoder, the one place torrent-fish reaches into its
 * internals. bencode 4.0.1 (and 2.0.3, which k-rpc-socket bundles for the DHT) reads a
 * string's length with a sign, so `-3:` moves the decoder *backwards* and `d1:a-3:abce`
 * loops forever. Every decode of remote input goes through it: bittorrent-protocol's
 * extended handshake, our ut_metadata server, HTTP tracker replies, DHT datagrams. One such
 * message froze the whole process.
 *
 * The guard wraps `decode.buffer` (called with the position at the first length character)
 * so a length that does not start with a digit throws, which every caller already handles as
 * malformed input. Pinned to the shape of those versions; test/unit/bencode-guard.test.ts is
 * the contract test that fails if an upgrade changes it.
 */
import bencode from 'bencode'

/** The decoder's internals we rely on: its state and the string reader. */
interface Decoder {
  data: ArrayLike<number> | null
  position: number
  buffer: () => unknown
  /** Set once guarded, so installing twice is harmless. */
  torrentFishGuarded?: true
}

/** Wraps one decoder (the `decode` function object of a bencode copy). */
export function guardDecoder (decode: Decoder): void {
  if (decode.torrentFishGuarded) return
  const read = decode.buffer
  if (typeof read !== 'function' || !('position' in decode)) {
    throw new Error('bencode decoder internals changed (no decode.buffer/position): review src/core/bencode-guard.ts')
  }
  decode.buffer = function guardedBuffer (this: unknown) {
    const c = decode.data?.[decode.position]
    if (c === undefined || c < 0x30 || c > 0x39) {
      throw new Error(`Invalid data: a string length must start with a digit (byte ${decode.position})`)
    }
    return read.call(this)
  }
  decode.torrentFishGuarded = true
}

/** Guards the bencode copy shared by torrent-fish, bittorrent-protocol and bittorrent-tracker. Idempotent. */
export function installBencodeGuard (): void {
  guardDecoder(bencode.decode as unknown as Decoder)
}
