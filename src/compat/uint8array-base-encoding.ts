/**
 * `Uint8Array.prototype.toHex` / `Uint8Array.fromHex` and the base64 pair, for browsers that
 * predate them (Chrome/Edge < 140, Firefox < 133, Safari < 18.2). uint8-util's browser build,
 * which the browser bundle uses, calls them directly; without them `addTorrent` fails with
 * "e.toHex is not a function". Installed only where missing, never replacing a native method;
 * imported first by the browser entry. The Node build never needs it (uint8-util uses Buffer).
 */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

interface Base64Options { alphabet?: 'base64' | 'base64url', omitPadding?: boolean }

function define (target: object, name: string, value: (...args: any[]) => unknown): void {
  if (typeof (target as Record<string, unknown>)[name] === 'function') return
  // Like the built-ins: not enumerable, so `for...in` over a Uint8Array stays indexes only.
  Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false })
}

function toHex (this: Uint8Array): string {
  let out = ''
  for (let i = 0; i < this.length; i++) out += HEX[this[i]]
  return out
}

function fromHex (text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError('Uint8Array.fromHex expects a string')
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new SyntaxError('Uint8Array.fromHex: not an even-length string of hex digits')
  const out = new Uint8Array(text.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16)
  return out
}

function toBase64 (this: Uint8Array, options: Base64Options = {}): string {
  let binary = ''
  for (let i = 0; i < this.length; i += 0x8000) binary += String.fromCharCode(...this.subarray(i, i + 0x8000))
  let out = btoa(binary)
  if (options.alphabet === 'base64url') out = out.replace(/\+/g, '-').replace(/\//g, '_')
  return options.omitPadding === true ? out.replace(/=+$/, '') : out
}

function fromBase64 (text: string, options: Base64Options = {}): Uint8Array {
  if (typeof text !== 'string') throw new TypeError('Uint8Array.fromBase64 expects a string')
  let standard = text.replace(/[\t\n\f\r ]/g, '')
  if (options.alphabet === 'base64url') {
    if (/[+/]/.test(standard)) throw new SyntaxError('Uint8Array.fromBase64: not base64url')
    standard = standard.replace(/-/g, '+').replace(/_/g, '/')
  } else if (/[-_]/.test(standard)) {
    throw new SyntaxError('Uint8Array.fromBase64: not base64')
  }
  let binary: string
  try { binary = atob(standard) } catch { throw new SyntaxError('Uint8Array.fromBase64: not base64') }
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

define(Uint8Array.prototype, 'toHex', toHex)
define(Uint8Array, 'fromHex', fromHex)
define(Uint8Array.prototype, 'toBase64', toBase64)
define(Uint8Array, 'fromBase64', fromBase64)

export {}
