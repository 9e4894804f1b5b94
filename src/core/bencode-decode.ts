/**
 * The bencode library's `decode` for a peer's extended handshake, value for value, at a
 * fraction of its cost. Every incoming connection sends one (BEP 10), and decoding it was
 * the largest single item of JavaScript per metadata exchange: the library copies the whole
 * message twice before reading it, and turns every dictionary key into a string through a
 * text decoder (a call into native code per key, ~2% of the CLI's CPU under load).
 *
 * Same result as `bencode.decode(bytes)` as torrent-fish installs it (with the string-length
 * guard of bencode-guard.ts): the same accepted inputs, the same values (dictionaries as
 * plain objects keyed by the UTF-8 text of each key, or its hex when that text is not valid
 * UTF-8; byte strings as Uint8Array copies; integers as numbers read the library's way,
 * lists as arrays), and where the library throws, this returns undefined. One difference, on
 * purpose: nesting deeper than MAX_DEPTH is refused instead of running the stack out (either
 * way the handshake is ignored). test/unit/bencode-decode.test.ts compares the two on
 * generated and mutated inputs.
 */
import { arr2hex, arr2text } from 'uint8-util'

const INTEGER = 0x69 // i
const LIST = 0x6c // l
const DICTIONARY = 0x64 // d
const END = 0x65 // e
const COLON = 0x3a
const ZERO = 0x30
const NINE = 0x39
const PLUS = 0x2b
const MINUS = 0x2d
const DOT = 0x2e

/** Deeper than any extended handshake; far below where recursion would exhaust the stack. */
const MAX_DEPTH = 512

/** Why a decode stopped (internal: decodeBencode answers undefined). */
class Malformed extends Error {}
const MALFORMED = new Malformed('malformed bencode')

/**
 * The value bencode.decode would return for `bytes`, or undefined where it would throw; null
 * for no bytes at all, as the library answers.
 */
export function decodeBencode (bytes: Uint8Array): unknown {
  if (bytes.length === 0) return null
  const reader = new Reader(bytes)
  try {
    return reader.next(0)
  } catch (err) {
    if (err instanceof Malformed) return undefined
    throw err
  }
}

class Reader {
  private readonly data: Uint8Array
  private at = 0

  constructor (data: Uint8Array) {
    this.data = data
  }

  next (depth: number): unknown {
    const c = this.data[this.at]
    if (c === DICTIONARY) return this.dictionary(depth + 1)
    if (c === LIST) return this.list(depth + 1)
    if (c === INTEGER) return this.integer()
    return this.string()
  }

  private dictionary (depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw MALFORMED
    this.at++
    const dict: Record<string, unknown> = {}
    while (this.data[this.at] !== END) {
      const key = this.key()
      dict[key] = this.next(depth)
    }
    this.at++
    return dict
  }

  private list (depth: number): unknown[] {
    if (depth > MAX_DEPTH) throw MALFORMED
    this.at++
    const list: unknown[] = []
    while (this.data[this.at] !== END) list.push(this.next(depth))
    this.at++
    return list
  }

  private integer (): number {
    const end = this.find(END)
    const value = readInt(this.data, this.at + 1, end)
    this.at = end + 1
    return value
  }

  /** Where a string's payload is: [start, end) with end possibly past the data (the library clamps). */
  private span (): number {
    const c = this.data[this.at]
    // The guard's rule (bencode-guard.ts): a length starts with a digit.
    if (c === undefined || c < ZERO || c > NINE) throw MALFORMED
    const sep = this.find(COLON)
    const length = readInt(this.data, this.at, sep)
    this.at = sep + 1 + length
    return sep + 1
  }

  private string (): Uint8Array {
    const start = this.span()
    const end = Math.min(this.at, this.data.length)
    const out = new Uint8Array(Math.max(0, end - start))
    out.set(this.data.subarray(start, end))
    return out
  }

  /** A key's text: ASCII is read byte by byte (what nearly every key is), the rest as the library does. */
  private key (): string {
    const start = this.span()
    const end = Math.min(this.at, this.data.length)
    const data = this.data
    let key = ''
    for (let i = start; i < end; i++) {
      const c = data[i]
      if (c >= 0x80) {
        const bytes = data.subarray(start, end)
        const text = arr2text(bytes)
        return text.includes('\uFFFD') ? arr2hex(bytes) : text
      }
      key += String.fromCharCode(c)
    }
    return key
  }

  private find (byte: number): number {
    const i = this.data.indexOf(byte, this.at)
    if (i < 0) throw MALFORMED
    return i
  }
}

/**
 * An integer between `start` and `end` the library's way: an optional sign first, digits,
 * and anything from a `.` on ignored; any other byte is an error.
 */
function readInt (data: Uint8Array, start: number, end: number): number {
  let sum = 0
  let sign = 1
  for (let i = start; i < end; i++) {
    const c = data[i]
    if (c >= ZERO && c <= NINE) { sum = sum * 10 + (c - ZERO); continue }
    if (i === start && c === PLUS) continue
    if (i === start && c === MINUS) { sign = -1; continue }
    if (c === DOT) break
    throw MALFORMED
  }
  return sum * sign
}
