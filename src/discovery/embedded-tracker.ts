/**
 * A tracker in-process: bittorrent-tracker's Server over HTTP, UDP and WebSocket, so a magnet
 * from torrent-fish works end to end with no outside service (the offline example, LANs,
 * tests). `torrent-fish tracker` runs one alone; `--embedded-tracker` runs one next to the
 * metadata peer and announces every torrent to it.
 */
import { ListenError } from '../transport/listen.ts'


export interface EmbeddedTrackerOptions {
  /** HTTP/WebSocket port, and the UDP port (same number when not 0). Default 8000. */
  port?: number
  /** Address to listen on (default every IPv4 address; `::` for IPv6 too). */
  host?: string
  /** Interval the tracker asks clients to announce at (default 10 min). */
  intervalMs?: number
  /** Trust X-Forwarded-For (behind a reverse proxy). */
  trustProxy?: boolean
  /** The web stats page at /stats (default true). */
  stats?: boolean
}

export interface EmbeddedTracker {
  readonly server: any
  readonly httpUrl: string
  readonly udpUrl: string
  readonly wsUrl: string
  readonly port: number
  readonly udpPort: number
  /** Swarms and peers it knows, for status and tests. */
  swarms (): Array<{ infoHash: string, peers: number, complete: number, incomplete: number }>
  close (): Promise<void>
}

function urlHost (host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}

/** bittorrent-tracker's own default port, and the one its docs and examples use. */
export const EMBEDDED_TRACKER_DEFAULT_PORT = 8000

export async function startEmbeddedTracker (options: EmbeddedTrackerOptions = {}): Promise<EmbeddedTracker> {
  const host = options.host ?? '0.0.0.0'
  const v6 = host.includes(':')
  // Loaded on use: only the tracker subcommand and the embedded tracker need the server.
  const { Server } = await import('bittorrent-tracker')
  const server = new Server({
    http: true,
    udp: true,
    ws: true,
    stats: options.stats !== false,
    trustProxy: options.trustProxy === true,
    interval: options.intervalMs ?? 10 * 60_000
  })
  server.on('warning', () => {}) // a client's bad request is not the tracker's failure
  const port = options.port ?? EMBEDDED_TRACKER_DEFAULT_PORT
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => { server.close(); reject(new ListenError('the tracker', host, port, err)) }
    server.once('error', onError)
    server.listen({ http: port, udp: port }, { http: host, udp: v6 ? '0.0.0.0' : host, udp6: v6 ? host : host === '0.0.0.0' ? '::' : '::1' }, () => {
      server.off('error', onError)
      resolve()
    })
  })
  server.on('error', () => {})
  const httpPort = server.http.address().port as number
  const udpPort = server.udp4.address().port as number
  const h = urlHost(host)
  let closed = false
  return {
    server,
    port: httpPort,
    udpPort,
    httpUrl: `http://${h}:${httpPort}/announce`,
    udpUrl: `udp://${h}:${udpPort}`,
    wsUrl: `ws://${h}:${httpPort}`,
    swarms () {
      return Object.entries(server.torrents as Record<string, any>).map(([infoHash, swarm]) => ({
        infoHash,
        peers: swarm.peers.length as number,
        complete: swarm.complete as number,
        incomplete: swarm.incomplete as number
      }))
    },
    close: () => new Promise<void>(resolve => {
      if (closed) { resolve(); return }
      closed = true
      // ws >= 8 leaves open clients alone on close, and HTTP keep-alive sockets hold close().
      for (const client of server.ws?.clients ?? []) client.terminate()
      server.http?.closeAllConnections?.()
      server.close(() => resolve())
    })
  }
}
