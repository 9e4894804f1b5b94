/**
 * The first bytes of an incoming connection, read before any protocol object exists: whether
 * they are a plaintext BitTorrent handshake, which torrent it asks for, and whether a frame
 * after it announces a length no cap allows (see PeerConnection.beforeWire).
 */
import { arr2hex } from 'uint8-util'
import { PROTOCOL } from './wire-messages.ts'

/** pstrlen + pstr + reserved + info hash: what it takes to know where a handshake goes. */
const ROUTE_BYTES = 48
/** A whole handshake (ROUTE_BYTES + the peer id): messages start after it. */
const HANDSHAKE_BYTES = 68

/**
 * The first length prefix above `max` among the whole messages after a plaintext handshake in
 * `bytes` (as far as they go), or -1. A peer that opens with a handshake and then a frame no
 * cap allows is closed without a Wire ever being built for it.
 */
export function firstOversizedFrame (bytes: Uint8Array, max: number): number {
  let at = HANDSHAKE_BYTES
  while (at + 4 <= bytes.length) {
    const length = ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3]
    if (length > max) return length
    at += 4 + length
  }
  return -1
}

/**
 * Reads the start of an incoming stream: `'more'` while it is a plaintext handshake too short
 * to route, `'not-plaintext'` as soon as a byte differs from the protocol header, else the
 * info hash (lowercase hex) the handshake asks for.
 */
export function routeHandshake (bytes: Uint8Array): 'more' | 'not-plaintext' | string {
  const n = Math.min(bytes.length, PROTOCOL.length)
  for (let i = 0; i < n; i++) if (bytes[i] !== PROTOCOL[i]) return 'not-plaintext'
  if (bytes.length < ROUTE_BYTES) return 'more'
  return arr2hex(bytes.subarray(28, ROUTE_BYTES))
}
