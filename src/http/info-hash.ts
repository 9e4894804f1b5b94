/**
 * Info hashes as they appear in URLs: 40 hex digits in either case, or the 32-character
 * base32 form (RFC 4648) that older magnets use. Anything else is malformed, which is
 * what keeps a request path from ever naming something other than a loaded torrent.
 */

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** 160 bits in base32 is exactly 32 characters, no padding. */
function base32ToHex (text: string): string {
  let bits = 0
  let value = 0
  let out = ''
  for (const ch of text.toUpperCase()) {
    value = (value << 5) | BASE32.indexOf(ch)
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out += ((value >>> bits) & 0xff).toString(16).padStart(2, '0')
    }
  }
  return out
}

/** The lower-case hex info hash, or null when `text` is neither hex nor base32 of 20 bytes. */
export function parseInfoHash (text: string): string | null {
  if (/^[0-9a-f]{40}$/i.test(text)) return text.toLowerCase()
  if (/^[a-z2-7]{32}$/i.test(text)) return base32ToHex(text)
  return null
}
