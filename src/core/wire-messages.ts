/**
 * The bytes of the messages GuardedWire (wire.ts) sends, built without the base class's
 * per-message allocations: the handshake's fixed head by extension flags, extended messages
 * in one buffer, a tick's messages joined, and where their bytes come from (Node's shared
 * pool in Node, see setMessageAllocator).
 */

/**
 * Where the bytes of a message we build come from. Every caller writes all of them before
 * the buffer is used, so they need not be zeroed; by default a plain Uint8Array (zeroed by
 * the engine). The Node entry sets one from Node's shared allocation pool (see
 * {@link setMessageAllocator}).
 */
let allocate: (size: number) => Uint8Array = size => new Uint8Array(size)

/** `size` bytes for a message the caller fills entirely (see {@link setMessageAllocator}). */
export function allocateMessage (size: number): Uint8Array {
  return allocate(size)
}

/**
 * Sets how message bytes are allocated: `allocate(size)` returns `size` bytes the caller
 * overwrites entirely. In Node, `Buffer.allocUnsafe`: a tick's output under 4 KiB is then a
 * slice of one shared 8 KiB pool rather than an ArrayBuffer of its own (each one a native
 * allocation, zeroed, tracked and swept by the GC apart from the object: 2-3 of them per
 * exchange, beside Node's own read buffers), and a larger one is not zeroed first.
 */
export function setMessageAllocator (fn: (size: number) => Uint8Array): void {
  allocate = fn
}

/** Message id of BEP 10 extended messages. */
const EXTENDED = 20

/** Writes `<len><20><ext><head>` at the start of `out`, len counting `dataLength` bytes to follow. */
export function writeExtendedHead (out: Uint8Array, ext: number, head: Uint8Array, dataLength: number): void {
  const len = 2 + head.length + dataLength
  out[0] = len >>> 24
  out[1] = (len >>> 16) & 0xff
  out[2] = (len >>> 8) & 0xff
  out[3] = len & 0xff
  out[4] = EXTENDED
  out[5] = ext
  out.set(head, 6)
}

/** `<len><20><ext><head><data>` in one buffer. */
export function extendedMessage (ext: number, head: Uint8Array, data?: Uint8Array, kept = false): Uint8Array {
  // One kept for every connection gets its own bytes: a pool slice would hold its whole pool.
  const size = 6 + head.length + (data ? data.length : 0)
  const out = kept ? new Uint8Array(size) : allocate(size)
  writeExtendedHead(out, ext, head, data ? data.length : 0)
  if (data) out.set(data, 6 + head.length)
  return out
}

/** `\x13BitTorrent protocol`, the start of every plaintext handshake. */
export const PROTOCOL = Uint8Array.from('\x13BitTorrent protocol', c => c.charCodeAt(0))

/**
 * The first 28 bytes of our handshake (protocol string and reserved bits: extended, and DHT
 * and fast when on) and the matching `extensions` record, by flags: both are the same for
 * every connection, so a handshake builds neither.
 */
export const HANDSHAKE_HEADS: Uint8Array[] = []
export const HANDSHAKE_FLAGS: Array<Readonly<{ extended: boolean, dht: boolean, fast: boolean }>> = []
for (let flags = 0; flags < 4; flags++) {
  const head = new Uint8Array(28)
  head.set(PROTOCOL, 0)
  head[20 + 5] |= 0x10 // BEP 10 extension protocol
  if (flags & 1) head[20 + 7] |= 0x01 // BEP 5 DHT
  if (flags & 2) head[20 + 7] |= 0x04 // BEP 6 fast extension
  HANDSHAKE_HEADS.push(head)
  HANDSHAKE_FLAGS.push(Object.freeze({ extended: true, dht: (flags & 1) !== 0, fast: (flags & 2) !== 0 }))
}

/** Writes 40 hex digits as 20 bytes at `at`; false (nothing usable written) on a non-hex digit. */
export function writeHex (out: Uint8Array, at: number, hex: string): boolean {
  for (let i = 0; i < 20; i++) {
    const hi = hexValue(hex.charCodeAt(2 * i))
    const lo = hexValue(hex.charCodeAt(2 * i + 1))
    if (hi < 0 || lo < 0) return false
    out[at + i] = (hi << 4) | lo
  }
  return true
}

function hexValue (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/** `chunks` (`total` bytes in all) in one buffer. */
export function joinMessages (chunks: Uint8Array[], total: number): Uint8Array {
  const out = allocate(total)
  let at = 0
  for (const c of chunks) { out.set(c, at); at += c.length }
  return out
}
