/**
 * A small HTTP web seed (BEP 19) for the offline example and for tests: serves files under a
 * root with Range requests and CORS, so desktop clients and browser WebTorrent can download.
 * Not a production web server; a CDN or nginx plays this role in deployments.
 */
import { listenServer } from '../transport/listen.ts'
import http from 'node:http'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
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

/** Parses a single `bytes=a-b` range; undefined for none, null for unsatisfiable. */
function parseRange (header: string | undefined, size: number): { start: number, end: number } | undefined | null {
  if (!header) return undefined
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m || (m[1] === '' && m[2] === '')) return null
  let start: number
  let end: number
  if (m[1] === '') { start = Math.max(0, size - Number(m[2])); end = size - 1 } else {
    start = Number(m[1])
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  }
  return start <= end && start < size ? { start, end } : null
}

/** Serves `root` on `host:port` (port 0 = any free port). */
export async function startWebSeed (root: string, options: { port?: number, host?: string } = {}): Promise<WebSeedServer> {
  const base = path.resolve(root)
  const hits = new Map<string, number>()
  const server = http.createServer(async (req, res) => {
    try {
      if (req.method === 'OPTIONS') { res.writeHead(204, { ...CORS, 'Access-Control-Allow-Methods': 'GET, HEAD' }); return void res.end() }
      if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, CORS); return void res.end() }
      const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
      const file = path.resolve(base, '.' + rel)
      if (file !== base && !file.startsWith(base + path.sep)) { res.writeHead(403, CORS); return void res.end() }
      const info = await stat(file).catch(() => null)
      if (!info?.isFile()) { res.writeHead(404, CORS); return void res.end() }
      hits.set(rel, (hits.get(rel) ?? 0) + 1)
      const range = parseRange(req.headers.range, info.size)
      if (range === null) {
        res.writeHead(416, { ...CORS, 'Content-Range': `bytes */${info.size}` })
        return void res.end()
      }
      const { start, end } = range ?? { start: 0, end: info.size - 1 }
      const headers: Record<string, string | number> = {
        ...CORS,
        'Accept-Ranges': 'bytes',
        'Content-Type': 'application/octet-stream',
        'Content-Length': info.size === 0 ? 0 : end - start + 1
      }
      if (range) headers['Content-Range'] = `bytes ${start}-${end}/${info.size}`
      res.writeHead(range ? 206 : 200, headers)
      if (req.method === 'HEAD' || info.size === 0) return void res.end()
      createReadStream(file, { start, end }).on('error', () => res.destroy()).pipe(res)
    } catch {
      res.destroy()
    }
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
