/**
 * A small HTTP web seed (BEP 19) for the offline example and for tests: serves files under a
 * root with Range requests and CORS, so desktop clients and browser WebTorrent can download.
 * Not a production web server; a CDN or nginx plays this role in deployments.
 */
import { listenServer } from '../transport/listen.ts'
import http from 'node:http'
import send from 'send'
import path from 'node:path'

export interface WebSeedServer {
  readonly url: string
  readonly port: number
  readonly server: http.Server
  /** Requests served, by path (for tests that check where bytes came from). */
  readonly hits: Map<string, number>
  close (): Promise<void>
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  // Browser WebTorrent sends Cache-Control with its range requests; without it the preflight fails.
  'Access-Control-Allow-Headers': 'Range, Cache-Control',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Accept-Ranges'
}

/**
 * Serves `root` on `host:port` (port 0 = any free port). Files, Range requests (206/416),
 * HEAD, ETag and path containment come from the `send` package; this adds CORS and hit counts.
 */
export async function startWebSeed (root: string, options: { port?: number, host?: string } = {}): Promise<WebSeedServer> {
  const base = path.resolve(root)
  const hits = new Map<string, number>()
  const server = http.createServer((req, res) => {
    for (const [k, v] of Object.entries(CORS)) res.setHeader(k, v)
    if (req.method === 'OPTIONS') { res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, HEAD' }); return void res.end() }
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405); return void res.end() }
    let rel: string
    try { rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname) } catch { res.writeHead(400); return void res.end() }
    send(req, rel, { root: base, dotfiles: 'allow', index: false, etag: true, lastModified: true, cacheControl: false })
      .on('file', () => hits.set(rel, (hits.get(rel) ?? 0) + 1))
      .on('headers', r => { if (!r.hasHeader('Content-Type')) r.setHeader('Content-Type', 'application/octet-stream') })
      .on('error', (err: { status?: number }) => { res.writeHead(err.status ?? 500); res.end() })
      .on('directory', () => { res.writeHead(404); res.end() })
      .pipe(res)
  })
  await listenServer(server, options.port ?? 0, options.host ?? '127.0.0.1')
  const { port, address } = server.address() as { port: number, address: string }
  const host = address.includes(':') ? `[${address}]` : address
  return {
    url: `http://${host}:${port}/`,
    port,
    server,
    hits,
    close: () => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}
