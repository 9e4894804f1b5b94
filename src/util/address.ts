/**
 * Address helpers shared by every room: `host:port` parsing (peers from trackers, DHT and LSD,
 * `-r proxy`, bootstrap nodes) and the URL of a bound server. Isomorphic.
 */

/** Parses `host:port` / `[v6]:port` with a port 1-65535; undefined for anything else. */
export function parseHostPort (addr: string): { host: string, port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(addr.trim())
  if (!m) return undefined
  const port = Number(m[2])
  if (!(port > 0 && port < 65536)) return undefined
  return { host: m[1], port }
}

/**
 * The host part of a URL for an address a server bound to: wildcard addresses become
 * 127.0.0.1 (reachable from this machine), IPv6 gets brackets.
 */
export function urlHost (address: string): string {
  if (address === '::' || address === '0.0.0.0' || address === '') return '127.0.0.1'
  return address.includes(':') ? `[${address}]` : address
}

/** `scheme://host:port` for a bound address. */
export function boundUrl (scheme: string, address: string, port: number): string {
  return `${scheme}://${urlHost(address)}:${port}`
}
