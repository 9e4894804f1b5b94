/**
 * Refusing a TCP connection before Node builds a socket object for it: the one place
 * torrent-fish reaches into Node's internals (test/adapters/node-net-accept.test.ts is the
 * contract that fails on a Node where this shape changed).
 *
 * Why: a flood that reconnects as fast as it is refused makes us pay, per connection, for
 * everything built before the refusal. net.Server builds a net.Socket (a Duplex, its two
 * states, listeners) for every accepted handle before emitting 'connection'; the public ways
 * to refuse earlier are global (`maxConnections` and 'drop') or a fixed list (`blockList`),
 * while admission refuses by subnet and only while the table is full. The server's listening
 * handle calls `onconnection(err, clientHandle)` for each accepted connection; the gate wraps
 * it, reads the peer's address off the handle and closes the handle when `refuse` says so.
 * Everything else goes on to Node's own onconnection unchanged. Where the shape is missing,
 * nothing is wrapped and the caller refuses after the socket exists, as before.
 */
import type { Server } from 'node:net'

/** What the gate uses of Node's accepted-connection handle (a TCPWrap). */
interface ClientHandle {
  getpeername (out: { address?: string, port?: number }): number
  close (): void
}

type OnConnection = (this: unknown, err: number, clientHandle: ClientHandle | undefined) => unknown

/**
 * Installs the gate on a listening server; returns false (and changes nothing) when this
 * Node does not have the handle shape it relies on. Call again after each listen().
 */
export function gateAccepts (server: Server, refuse: (address: string, port: number) => boolean): boolean {
  const handle = (server as unknown as { _handle?: { onconnection?: OnConnection } })._handle
  const original = handle?.onconnection
  if (!handle || typeof original !== 'function') return false
  handle.onconnection = function gatedOnConnection (err, clientHandle) {
    if (!err && clientHandle && typeof clientHandle.getpeername === 'function' && typeof clientHandle.close === 'function') {
      const peer: { address?: string, port?: number } = {}
      let refused = false
      // A throw here would leave Node's accept callback: never let the gate's own error stop
      // the listener; the connection then goes the ordinary way and admission decides there.
      try { refused = clientHandle.getpeername(peer) === 0 && typeof peer.address === 'string' && refuse(peer.address, peer.port ?? 0) } catch { refused = false }
      if (refused) {
        clientHandle.close()
        return
      }
    }
    return original.call(this, err, clientHandle)
  }
  return true
}
