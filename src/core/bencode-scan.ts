/**
 * A bencode *scanner*: finds where values start and end in a buffer without building them.
 *
 * Why not only the bencode library: a metadata peer must keep the info dict as the exact
 * bytes of the file, so it needs byte spans, and the library gives decoded values (copying
 * every string, `pieces` included, and running every key through a text decoder). Loading
 * 100k torrents spent most of its parse time there. Values we do need (name, trackers, web
 * seeds, small lists) are still decoded by the library, from their spans.
 */

const I = 0x69 // 'i'
const L = 0x6c // 'l'
const D = 0x64 // 'd'
const E = 0x65 // 'e'
const COLON = 0x3a
const ZERO = 0x30
const NINE = 0x39
const MINUS = 0x2d

/** Nesting deeper than this is refused: no real torrent comes close, and it bounds recursion. */
const MAX_DEPTH = 256

export class BencodeScanError extends Error {
  constructor (message: string, at: number) {
    super(`${message} at byte ${at}`)
    this.name = 'BencodeScanError'
  }
}

/** Reads a string header `<len>:` at `at`; returns the payload start and length. */
export function stringAt (buf: Uint8Array, at: number): { start: number, length: number } {
  let n = 0
  let i = at
  if (buf[i] === COLON) throw new BencodeScanError('string without a length', at)
  while (i < buf.length && buf[i] !== COLON) {
    const c = buf[i]
    if (c < ZERO || c > NINE) throw new BencodeScanError('bad string length', i)
    n = n * 10 + (c - ZERO)
    if (n > buf.length) throw new BencodeScanError('string longer than the data', at)
    i++
  }
  if (i >= buf.length) throw new BencodeScanError('data is truncated', at)
  const start = i + 1
  if (start + n > buf.length) throw new BencodeScanError('data is truncated', at)
  return { start, length: n }
}

/** Reads an integer `i<n>e` at `at`; returns its value and the index after it. */
export function intAt (buf: Uint8Array, at: number): { value: number, end: number } {
  if (buf[at] !== I) throw new BencodeScanError('expected an integer', at)
  let i = at + 1
  let negative = false
  if (buf[i] === MINUS) { negative = true; i++ }
  let n = 0
  const first = i
  while (i < buf.length && buf[i] !== E) {
    const c = buf[i]
    if (c < ZERO || c > NINE) throw new BencodeScanError('bad integer', i)
    n = n * 10 + (c - ZERO)
    i++
  }
  if (i >= buf.length) throw new BencodeScanError('data is truncated', at)
  if (i === first) throw new BencodeScanError('empty integer', at)
  return { value: negative ? -n : n, end: i + 1 }
}

/** Returns the index just after the value starting at `at`. */
export function skipValue (buf: Uint8Array, at: number, depth = 0): number {
  if (depth > MAX_DEPTH) throw new BencodeScanError('nesting too deep', at)
  const c = buf[at]
  if (c === I) return intAt(buf, at).end
  if (c === L || c === D) {
    let i = at + 1
    while (i < buf.length && buf[i] !== E) {
      if (c === D) { const key = stringAt(buf, i); i = key.start + key.length }
      i = skipValue(buf, i, depth + 1)
    }
    if (i >= buf.length) throw new BencodeScanError('data is truncated', at)
    return i + 1
  }
  if (c !== undefined && c >= ZERO && c <= NINE) {
    const s = stringAt(buf, at)
    return s.start + s.length
  }
  throw new BencodeScanError(c === undefined ? 'data is truncated' : 'not bencode', at)
}

/** One key of a dictionary: the key's bytes and the span of its value. */
export interface DictEntry {
  keyStart: number
  keyLength: number
  valueStart: number
  valueEnd: number
}

/** Lists the entries of the dictionary starting at `at`, and where it ends. */
export function dictEntries (buf: Uint8Array, at: number): { entries: DictEntry[], end: number } {
  if (buf[at] !== D) throw new BencodeScanError('expected a dictionary', at)
  const entries: DictEntry[] = []
  let i = at + 1
  while (i < buf.length && buf[i] !== E) {
    const key = stringAt(buf, i)
    const valueStart = key.start + key.length
    const valueEnd = skipValue(buf, valueStart, 1)
    entries.push({ keyStart: key.start, keyLength: key.length, valueStart, valueEnd })
    i = valueEnd
  }
  if (i >= buf.length) throw new BencodeScanError('data is truncated', at)
  return { entries, end: i + 1 }
}

/** Whether the key of `entry` is the ASCII string `name`. */
export function keyIs (buf: Uint8Array, entry: DictEntry, name: string): boolean {
  if (entry.keyLength !== name.length) return false
  for (let k = 0; k < name.length; k++) if (buf[entry.keyStart + k] !== name.charCodeAt(k)) return false
  return true
}

/** Finds the entry for `name`, if present. */
export function findKey (buf: Uint8Array, entries: DictEntry[], name: string): DictEntry | undefined {
  for (const e of entries) if (keyIs(buf, e, name)) return e
  return undefined
}
