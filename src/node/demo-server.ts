/**
 * Serves the demo page (demo/) and the browser bundle (dist/browser/) over HTTP, plus a
 * `config.json` telling the page which tracker and ICE servers to use, so `npm start` works
 * offline: the page, the embedded tracker and the web seed all come from this process.
 * Not a general web server: a few mounts, GET/HEAD only, no directory listings.
 */
import { listenServer } from '../transport/listen.ts'
import http from 'node:http'
import send from 'send'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package root (this file is src/node/ or dist/node/). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface DemoConfig {
  /** WebSocket tracker URLs the page uses by default. */
  trackers?: string[]
  /** RTCConfiguration iceServers; [] on a closed network. */
  iceServers?: unknown[]
  [key: string]: unknown
}

export interface DemoServerOptions {
  port?: number
  /** Default 127.0.0.1; 0.0.0.0 to let other machines (phones on the LAN) open the demo. */
  host?: string
  config?: DemoConfig
  /** More URL prefixes to serve from directories, e.g. `{ '/torrents/': dir }`. */
  mounts?: Record<string, string>
  /** Package root holding demo/ and dist/browser/ (default: this package). */
  root?: string
}

export interface DemoServer {
  readonly url: string
  readonly port: number
  readonly server: http.Server
  close (): Promise<void>
}

/** JavaScript and HTML with a charset; the rest as `send` types them by extension. */
const CHARSET_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.torrent': 'application/x-bittorrent'
}

/** Starts the demo server; resolves once it listens. */
export async function startDemoServer (options: DemoServerOptions = {}): Promise<DemoServer> {
  const root = options.root ?? PACKAGE_ROOT
  const mounts: Array<[string, string]> = [
    ['/demo/', path.join(root, 'demo')],
    ['/dist/browser/', path.join(root, 'dist', 'browser')],
    ...Object.entries(options.mounts ?? {}).map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : `${prefix}/`, path.resolve(dir)] as [string, string])
  ]
  // Longest prefix first, so a mount inside another wins.
  mounts.sort((a, b) => b[0].length - a[0].length)
  const config = JSON.stringify(options.config ?? {})

  const server = http.createServer(async (req, res) => {
    const headers = { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-cache' }
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, headers); return void res.end() }
      const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
      if (pathname === '/config.json') {
        res.writeHead(200, { ...headers, 'Content-Type': 'application/json' })
        return void res.end(req.method === 'HEAD' ? undefined : config)
      }
      let dir: string | undefined
      let rel = pathname
      if (pathname === '/' || pathname === '/index.html') { dir = path.join(root, 'demo'); rel = '/index.html' }
      for (const [prefix, mounted] of mounts) {
        if (dir || !pathname.startsWith(prefix)) continue
        dir = mounted
        rel = pathname.slice(prefix.length - 1)
      }
      const notFound = (): void => {
        res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' })
        res.end(pathname.startsWith('/dist/browser/') ? 'not found: run `npm run build` to make the browser bundle\n' : 'not found\n')
      }
      if (!dir) return notFound()
      // Files, HEAD, ETag and path containment (no `..` out of the mount) come from `send`.
      send(req, rel, { root: dir, index: false, dotfiles: 'deny', cacheControl: false })
        .on('headers', (r, file) => {
          for (const [k, v] of Object.entries(headers)) r.setHeader(k, v)
          const type = CHARSET_TYPES[path.extname(file)]
          if (type) r.setHeader('Content-Type', type)
        })
        .on('error', (err: { status?: number }) => { if (err.status === 404 || err.status === 403) notFound(); else { res.writeHead(err.status ?? 500); res.end() } })
        .on('directory', notFound)
        .pipe(res)
    } catch {
      res.destroy()
    }
  })
  await listenServer(server, options.port ?? 0, options.host ?? '127.0.0.1')
  const { port, address } = server.address() as { port: number, address: string }
  const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address
  return {
    url: `http://${host}:${port}/`,
    port,
    server,
    close: () => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}
