/**
 * Starts a server listening and settles once: resolves on `listening`, rejects on the first
 * `error` (EADDRINUSE, EACCES...) without leaving either listener behind. Shared by every
 * server torrent-fish runs (peer TCP, HTTP face, web seed, demo page).
 */
import type { Server } from 'node:net'
import { TorrentFishError } from '../core/errors.ts'

/** A server could not listen; `code` is ERR_PORT_IN_USE, ERR_PORT_ACCESS or ERR_LISTEN, the system's in `cause`. */
export class ListenError extends TorrentFishError {
  readonly port: number
  readonly host: string
  constructor (what: string, host: string, port: number, cause: Error) {
    const sys = (cause as NodeJS.ErrnoException).code
    const code = sys === 'EADDRINUSE' ? 'ERR_PORT_IN_USE' : sys === 'EACCES' ? 'ERR_PORT_ACCESS' : 'ERR_LISTEN'
    const hint = sys === 'EADDRINUSE' ? ' (another program uses this port: pick another with -p, or 0 for any free one)' : ''
    super(code, `cannot listen on ${what} ${host.includes(':') ? `[${host}]` : host}:${port}: ${cause.message}${hint}`, { cause })
    this.name = 'ListenError'
    this.port = port
    this.host = host
  }
}

export function listenServer (server: Server, port: number, host: string | undefined, backlog?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => { server.off('listening', onListening); reject(err) }
    const onListening = (): void => { server.off('error', onError); resolve() }
    server.once('error', onError)
    server.once('listening', onListening)
    // ipv6Only false: '::' also accepts IPv4 (as ::ffff:a.b.c.d) on dual-stack hosts.
    server.listen({ port, host, ipv6Only: false, ...(backlog ? { backlog } : {}) })
  })
}

/**
 * Listens on `host`, or when none is given on every IPv4 and IPv6 address ('::'), falling back
 * to IPv4 only on hosts without IPv6. Returns the host used; errors name what failed to listen.
 */
export async function listenAnyStack (server: Server, port: number, host: string | undefined, what: string, backlog?: number): Promise<string> {
  try {
    await listenServer(server, port, host ?? '::', backlog)
    return host ?? '::'
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (host === undefined && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
      await listenServer(server, port, '0.0.0.0', backlog) // no IPv6 on this host
      return '0.0.0.0'
    }
    throw new ListenError(what, host ?? '::', port, err as Error)
  }
}
