/**
 * Source addresses for the floods: every TCP/UDP socket a flood opens is bound to an address
 * in 127.0.0.0/8 (Linux routes the whole /8 to loopback), so the peer sees many remote hosts
 * and a per-IP cap alone cannot stop the flood, as on the internet.
 *
 * Layout: `count` addresses, `perSubnet` of them in each /24, starting at 127.16.0.0, so the
 * flood spans count / perSubnet different /24s. The correct leecher uses 127.0.0.1, which is
 * never handed out here.
 */

/** The k-th flood source address (k >= 0). */
export function sourceAddress (k: number, perSubnet = 4): string {
  const subnet = Math.floor(k / perSubnet)
  const host = 1 + (k % perSubnet)
  // 127.16.0.0 - 127.255.255.0: room for 240 * 256 /24s.
  return `127.${16 + (Math.floor(subnet / 256) % 240)}.${subnet % 256}.${host}`
}

/** Hands out source addresses round-robin. */
export class SourcePool {
  private next = 0
  readonly count: number
  readonly perSubnet: number

  constructor (count: number, perSubnet = 4) {
    this.count = Math.max(1, count)
    this.perSubnet = Math.max(1, perSubnet)
  }

  take (): string {
    const a = sourceAddress(this.next, this.perSubnet)
    this.next = (this.next + 1) % this.count
    return a
  }

  /** How many distinct /24s the pool spans. */
  get subnets (): number {
    return Math.ceil(this.count / this.perSubnet)
  }
}
