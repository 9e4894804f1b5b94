/**
 * Grouping remote addresses for admission caps: one IP, and the network an attacker is
 * likely to hold as a whole (an IPv4 /24, an IPv6 /64, the usual size of one end site).
 * Isomorphic string work; no parsing library needed for these two shapes.
 */

/** The address without an IPv4-mapped IPv6 prefix, lower-cased. */
export function normalizeAddress (address: string): string {
  const a = address.toLowerCase()
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a
}

/** Expands an IPv6 address to its eight hextets, or null when it is not one. */
function hextets (address: string): string[] | null {
  const zone = address.indexOf('%')
  const a = zone === -1 ? address : address.slice(0, zone)
  const halves = a.split('::')
  if (halves.length > 2) return null
  const head = halves[0] === '' ? [] : halves[0].split(':')
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return null
  const all = [...head, ...Array.from({ length: halves.length === 2 ? missing : 0 }, () => '0'), ...tail]
  for (const h of all) if (!/^[0-9a-f]{1,4}$/.test(h)) return null
  return all.map(h => h.replace(/^0+(?=.)/, ''))
}

/**
 * The subnet key of an address: `a.b.c/24` for IPv4, the first four hextets + `/64` for
 * IPv6, the address itself when it is neither (a hostname, a WebRTC pseudo-address).
 */
export function subnetOf (address: string): string {
  const a = normalizeAddress(address)
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a)) return a.slice(0, a.lastIndexOf('.')) + '/24'
  const h = hextets(a)
  return h ? h.slice(0, 4).join(':') + '::/64' : a
}
