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
 *
 * The order of building (optional, `first`): Node accepts one connection per event-loop turn,
 * so a connection queued in the kernel behind a flood's burst waits for every turn ahead of
 * it, and a turn that builds a socket and a session (and evicts another) costs ~10x one that
 * only accepts. While connections queue up (one was accepted in the previous turn, or some
 * are already held), a newcomer from a network `first` does not name is held as a bare
 * handle and built when a turn accepts nothing (8 at most per turn, while the turn has spent
 * less than 1 ms on them), or after 100 ms
 * whatever comes; a network `first` names (one that was served here) is built at once. The
 * burst's own work then follows the kernel's queue instead of sitting in it ahead of a
 * returning leecher; a new leecher waits in the held queue, in arrival order, as it waited in
 * the kernel's. Held handles are asked `refuse` again when built (the table moved meanwhile).
 */
import type { Server } from 'node:net'

/** What the gate uses of Node's accepted-connection handle (a TCPWrap). */
interface ClientHandle {
  getpeername (out: { address?: string, port?: number }): number
  close (): void
}

/**
 * Takes an admitted connection's handle instead of Node's onconnection (see
 * adapters/node-tcp-handle.ts); false leaves it to Node, which builds a net.Socket. `build`
 * gives a handle taken this way to Node's onconnection later (a net.Socket and the server's
 * 'connection' event, as if it had just been accepted).
 */
export type AdoptHandle = (clientHandle: unknown, address: string, port: number, build: (clientHandle: unknown) => void) => boolean

type OnConnection = (this: unknown, err: number, clientHandle: ClientHandle | undefined) => unknown

export interface AcceptOrder {
  /** Whether a newcomer from `address` is built at once even while connections queue up. */
  first (address: string): boolean
}

/** Held handles built per turn that accepts nothing: ~0.1-0.5 ms each, so a turn stays short. */
const BUILT_PER_QUIET_TURN = 8
/** ... and only while the turn has spent less than this on them. */
const QUIET_TURN_BUDGET_MS = 1
/** A held handle is built after this long even while every turn accepts (a flood never lets up). */
const HOLD_MAX_MS = 100
/** At most this many handles held (each an fd); past it the oldest is built at once. */
const HOLD_MAX = 4096

interface Held { handle: ClientHandle, address: string, port: number, at: number }

/**
 * Installs the gate on a listening server; returns false (and changes nothing) when this
 * Node does not have the handle shape it relies on. Call again after each listen().
 */
export function gateAccepts (server: Server, refuse: (address: string, port: number) => boolean, order?: AcceptOrder, adopt?: AdoptHandle): boolean {
  const handle = (server as unknown as { _handle?: { onconnection?: OnConnection } })._handle
  const original = handle?.onconnection
  if (!handle || typeof original !== 'function') return false

  const held: Held[] = []
  let acceptedThisTurn = false
  let acceptedLastTurn = false
  let turnScheduled = false

  const refuses = (address: string, port: number): boolean => {
    // A throw here would leave Node's accept callback: never let the gate's own error stop
    // the listener; the connection then goes the ordinary way and admission decides there.
    try { return refuse(address, port) } catch { return false }
  }
  // Like `refuses` (`adopt` itself owns a handle it has started to use).
  const adopts = (clientHandle: ClientHandle, address: string, port: number): boolean => {
    if (!adopt) return false
    try { return adopt(clientHandle, address, port, buildLater) } catch { return false }
  }
  const buildLater = (clientHandle: unknown): void => { original.call(handle, 0, clientHandle as ClientHandle) }
  const build = (h: Held): void => {
    if (refuses(h.address, h.port)) h.handle.close()
    else if (!adopts(h.handle, h.address, h.port)) original.call(handle, 0, h.handle)
  }
  // Runs in the check phase, after the turn's accept (if any) and its I/O.
  const turn = (): void => {
    turnScheduled = false
    acceptedLastTurn = acceptedThisTurn
    acceptedThisTurn = false
    if (!server.listening) {
      for (const h of held.splice(0)) h.handle.close()
      return
    }
    if (held.length > 0) {
      if (!acceptedLastTurn) {
        // One at least; more while the turn is still short (a build with its buffered
        // handshake and reply can take ~0.5 ms, and a returning leecher's next round trip
        // waits for the end of this turn).
        const start = performance.now()
        let n = 0
        do build(held.shift()!)
        while (held.length > 0 && ++n < BUILT_PER_QUIET_TURN && performance.now() - start < QUIET_TURN_BUDGET_MS)
      } else if (performance.now() - held[0].at >= HOLD_MAX_MS) {
        build(held.shift()!)
      }
    }
    if (held.length > 0 || acceptedLastTurn) scheduleTurn()
  }
  const scheduleTurn = (): void => {
    if (turnScheduled) return
    turnScheduled = true
    setImmediate(turn)
  }

  handle.onconnection = function gatedOnConnection (err, clientHandle) {
    if (!err && clientHandle && typeof clientHandle.getpeername === 'function' && typeof clientHandle.close === 'function') {
      const peer: { address?: string, port?: number } = {}
      let got = false
      try { got = clientHandle.getpeername(peer) === 0 && typeof peer.address === 'string' } catch { got = false }
      if (got) {
        const address = peer.address!
        const port = peer.port ?? 0
        if (refuses(address, port)) {
          clientHandle.close()
          return
        }
        if (order) {
          const queued = held.length > 0 || acceptedLastTurn
          acceptedThisTurn = true
          scheduleTurn()
          let first = true
          if (queued) { try { first = order.first(address) } catch { first = true } }
          if (!first) {
            held.push({ handle: clientHandle, address, port, at: performance.now() })
            if (held.length > HOLD_MAX) build(held.shift()!)
            return
          }
        }
        if (adopts(clientHandle, address, port)) return
      }
    }
    return original.call(this, err, clientHandle)
  }
  return true
}
