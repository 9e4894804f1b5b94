/**
 * What node:http holds once the header gate (header-gate.ts) has handed a connection over:
 * every socket, by address and by network (/24, /64), and which of them are idle (kept alive,
 * no request in progress), the longest idle first. node:http has no cap of its own; this one
 * is the gate's `maxServed` and `servedPerAddress`.
 *
 * At the cap, a newcomer from a network holding n connections takes the place of the
 * longest-idle connection of a network holding n + 2 or more, else it is closed: every such
 * move leaves the two networks closer to even, so places flow from the networks that hold the
 * most to those that hold the fewest and then stop. A flood reconnecting the moment it is
 * closed cannot chain (its reconnect finds no network two above its own; letting any newcomer
 * take any idle place made each flooding reconnect take another flooding connection's place,
 * whose reconnect took the next, each turn a whole request); a flood from fewer networks than
 * the cap cannot keep a client of another network out; one from more holds the cap until
 * node:http's keep-alive timeout frees places. (Not closeIdleConnections(): it closes every
 * idle socket at once, and a thousand closed in one turn hold the event loop for ~100 ms.)
 */
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { normalizeAddress, subnetOf } from '../core/admission-address.ts'
import { bumpCount } from '../util/count-map.ts'

export interface ServedLimits {
  /** Connections node:http holds, at most. */
  maxServed: number
  /** ... from one address. */
  servedPerAddress: number
}

/** Why a newcomer is not served. */
export type ServedRefusal = 'served-address' | 'served-full'

/** Idle connections looked at, longest idle first, for one to close at the cap. */
const EVICTION_SCAN = 256

interface Served { address: string, network: string, requests: number }

export class ServedConnections {
  private readonly limits: ServedLimits
  private readonly onClosed: () => void
  private readonly served = new Map<Socket, Served>()
  private readonly byAddress = new Map<string, number>()
  private readonly byNetwork = new Map<string, number>()
  /** In the order they became idle. */
  private readonly idle = new Set<Socket>()

  /** `onClosed` is told each time a connection leaves (its place is free). */
  constructor (limits: ServedLimits, onClosed: () => void) {
    this.limits = limits
    this.onClosed = onClosed
  }

  get size (): number { return this.served.size }

  /** At accept: whether a newcomer from `address` is refused by its address's cap. */
  refusal (address: string): ServedRefusal | null {
    return (this.byAddress.get(address) ?? 0) >= this.limits.servedPerAddress ? 'served-address' : null
  }

  /** At hand-over: the same, and at the cap room made where the rule above allows. */
  admit (address: string, network: string): ServedRefusal | null {
    const refused = this.refusal(address)
    if (refused !== null || this.served.size < this.limits.maxServed) return refused
    const above = (this.byNetwork.get(network) ?? 0) + 2
    let looked = 0
    for (const socket of this.idle) {
      if (++looked > EVICTION_SCAN) break
      if ((this.byNetwork.get(this.served.get(socket)!.network) ?? 0) < above) continue
      this.release(socket)
      socket.destroy()
      return null
    }
    return 'served-full'
  }

  /** A socket node:http was just given (its server's 'connection'); idle once its first reply is out. */
  add (socket: Socket): void {
    const address = normalizeAddress(socket.remoteAddress ?? '')
    const network = subnetOf(address)
    this.served.set(socket, { address, network, requests: 0 })
    bumpCount(this.byAddress, address, 1)
    bumpCount(this.byNetwork, network, 1)
    socket.once('close', () => this.release(socket))
  }

  /** Follows the server's requests: a connection is busy from a request until its reply closes. */
  watch (server: Server): void {
    server.on('request', (req, res) => {
      const socket = req.socket
      const s = this.served.get(socket)
      if (s === undefined) return
      s.requests += 1
      this.idle.delete(socket)
      res.once('close', () => {
        s.requests -= 1
        if (s.requests === 0 && this.served.has(socket) && !socket.destroyed) this.idle.add(socket)
      })
    })
  }

  private release (socket: Socket): void {
    const s = this.served.get(socket)
    if (s === undefined) return
    this.served.delete(socket)
    this.idle.delete(socket)
    bumpCount(this.byAddress, s.address, -1)
    bumpCount(this.byNetwork, s.network, -1)
    this.onClosed()
  }
}
