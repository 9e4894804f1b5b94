/**
 * The one dial policy: which transport an outgoing connection tries, in what order, and when
 * it falls back. Discovery uses it (through its narrow `dial` dependency) but does not own it.
 *
 * - Transports are tried in the order given (the Node service: TCP, then uTP).
 * - With a proxy only the first (TCP, through the SOCKS proxy) is tried: falling back to a
 *   transport the proxy does not carry would leak the real address.
 * - A transport that cannot reach a host (uTP and IPv6) is skipped.
 */
import type { PeerConnection } from '../core/peer-connection.ts'
import type { DialAddress, DialOptions, Transport } from './transport.ts'
import { TransportUnavailableError } from './transport.ts'

export interface DialPolicyOptions {
  /** Outgoing connections go through a proxy: no fallback. */
  proxied?: boolean
}

export type DialFunction = (address: DialAddress, options?: DialOptions) => Promise<PeerConnection>

export function dialPolicy (transports: () => Transport[], options: DialPolicyOptions = {}): DialFunction {
  return async (address, dialOptions = {}) => {
    const all = transports()
    const candidates = (options.proxied ? all.slice(0, 1) : all).filter(t => t.canDial(address.host))
    if (candidates.length === 0) throw new TransportUnavailableError('dial', `no transport can dial ${address.host}`)
    let last: unknown
    for (const t of candidates) {
      if (dialOptions.signal?.aborted) throw dialOptions.signal.reason
      try {
        return await t.dial(address, dialOptions)
      } catch (err) {
        last = err
      }
    }
    throw last
  }
}
