/**
 * Starts a server listening and settles once: resolves on `listening`, rejects on the first
 * `error` (EADDRINUSE, EACCES...) without leaving either listener behind. Shared by every
 * server torrent-fish runs (peer TCP, HTTP face, web seed, demo page).
 */
import type { Server } from 'node:net'

export function listenServer (server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => { server.off('listening', onListening); reject(err) }
    const onListening = (): void => { server.off('error', onError); resolve() }
    server.once('error', onError)
    server.once('listening', onListening)
    // ipv6Only false: '::' also accepts IPv4 (as ::ffff:a.b.c.d) on dual-stack hosts.
    server.listen({ port, host, ipv6Only: false })
  })
}
