/**
 * A publisher's web server for source tests, on loopback: .torrent files under /torrents/
 * with an nginx-style autoindex page, an RSS feed (/feed.rss), an Atom feed (/feed.atom), a
 * text and a JSON manifest, each with ETag / Last-Modified and 304 answers. Tests change the
 * files while it runs, take it down and bring it back on the same port, and add hostile
 * routes (a 404, HTML that is no listing, garbage, a 2 GB body streamed lazily).
 *
 *   const server = await startSourceServer(t)
 *   server.put('a.torrent', bytes); server.remove('a.torrent')
 *   server.url('/torrents/')            server.requests  (every request: method, path, conditional?)
 *   await server.down(); await server.up()
 */
import http from 'node:http'
import { createHash } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { HasAfter } from '../fixtures/tmp.ts'

export interface SourceServer {
  readonly port: number
  url (path: string): string
  put (name: string, bytes: Uint8Array): void
  remove (name: string): void
  /** A custom route: returns true when it answered. */
  route (path: string, handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): void
  /** Every request so far. */
  readonly requests: Array<{ path: string, conditional: boolean, status: number }>
  /** Bytes written by streamed bodies (the 2 GB route counts here). */
  streamed: number
  down (): Promise<void>
  up (): Promise<void>
  close (): Promise<void>
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

function nginxDate (d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`
}

function escape (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

export async function startSourceServer (t?: HasAfter): Promise<SourceServer> {
  const files = new Map<string, { bytes: Uint8Array, etag: string, mtime: Date, version: number }>()
  const routes = new Map<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>()
  const requests: SourceServer['requests'] = []
  let port = 0
  let version = 0
  let listVersion = 0
  const origin = (): string => `http://127.0.0.1:${port}`

  const sendDoc = (req: http.IncomingMessage, res: http.ServerResponse, type: string, body: string | Uint8Array, etag: string, record: (s: number) => void): void => {
    if (req.headers['if-none-match'] === etag) { res.writeHead(304, { ETag: etag }); res.end(); record(304); return }
    res.writeHead(200, { 'Content-Type': type, ETag: etag, 'Content-Length': Buffer.byteLength(body) })
    res.end(body)
    record(200)
  }

  const listing = (): string => {
    const rows = [...files.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, f]) =>
      `<a href="${encodeURIComponent(name)}">${escape(name)}</a>${' '.repeat(Math.max(1, 51 - name.length))}${nginxDate(f.mtime)} ${String(f.bytes.length).padStart(19)}`)
    return `<html>\r\n<head><title>Index of /torrents/</title></head>\r\n<body>\r\n<h1>Index of /torrents/</h1><hr><pre><a href="../">../</a>\r\n${rows.join('\r\n')}\r\n</pre><hr></body>\r\n</html>\r\n`
  }
  const rss = (): string => {
    const items = [...files.entries()].map(([name, f]) =>
      `<item><title>${escape(name)}</title><guid>${escape(name)}-${f.version}</guid><pubDate>${f.mtime.toUTCString()}</pubDate>` +
      `<enclosure url="${origin()}/torrents/${encodeURIComponent(name)}" length="${f.bytes.length}" type="application/x-bittorrent"/></item>`)
    return `<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>test feed</title><link>${origin()}/</link>${items.join('\n')}</channel></rss>\n`
  }
  const atom = (): string => {
    const entries = [...files.entries()].map(([name, f]) =>
      `<entry><title>${escape(name)}</title><id>urn:${escape(name)}</id><updated>${f.mtime.toISOString()}</updated>` +
      `<link rel="enclosure" type="application/x-bittorrent" length="${f.bytes.length}" href="/torrents/${encodeURIComponent(name)}"/></entry>`)
    return `<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>test</title>${entries.join('\n')}</feed>\n`
  }

  const server = http.createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0])
    const entry = { path, conditional: req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined, status: 0 }
    requests.push(entry)
    const record = (s: number): void => { entry.status = s }
    const custom = routes.get(path)
    if (custom) { record(200); return custom(req, res) }
    const docTag = `"list-${listVersion}"`
    if (path === '/torrents/') return sendDoc(req, res, 'text/html', listing(), docTag, record)
    if (path === '/feed.rss') return sendDoc(req, res, 'application/rss+xml', rss(), docTag, record)
    if (path === '/feed.atom') return sendDoc(req, res, 'application/atom+xml', atom(), docTag, record)
    if (path === '/manifest.txt') return sendDoc(req, res, 'text/plain; charset=utf-8', `# test manifest\n${[...files.keys()].map(n => `torrents/${encodeURIComponent(n)}`).join('\n')}\n`, docTag, record)
    if (path === '/manifest.json') return sendDoc(req, res, 'application/json', JSON.stringify({ torrents: [...files.keys()].map(n => ({ url: `${origin()}/torrents/${encodeURIComponent(n)}` })) }), docTag, record)
    if (path.startsWith('/torrents/')) {
      const f = files.get(path.slice('/torrents/'.length))
      if (f) return sendDoc(req, res, 'application/x-bittorrent', f.bytes, f.etag, record)
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' })
    res.end('not found')
    record(404)
  })
  server.keepAliveTimeout = 1000

  const listen = async (): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() })
    })
    port = (server.address() as AddressInfo).port
  }
  await listen()
  const self: SourceServer = {
    get port () { return port },
    url: p => `${origin()}${p}`,
    put (name, bytes) {
      version += 1
      listVersion += 1
      files.set(name, { bytes, etag: `"${createHash('sha1').update(bytes).digest('hex')}"`, mtime: new Date(Date.UTC(2026, 0, 1, 0, version)), version })
    },
    remove (name) { files.delete(name); listVersion += 1 },
    route (p, handler) { routes.set(p, handler) },
    requests,
    streamed: 0,
    async down () {
      await new Promise<void>(resolve => { server.close(() => resolve()); server.closeAllConnections() })
    },
    up: listen,
    async close () {
      if (!server.listening) return
      await self.down()
    }
  }
  t?.after(() => self.close())
  return self
}

/** A route streaming `total` bytes lazily (never held in memory), counting what was written. */
export function hugeBody (server: SourceServer, total: number, options: { declareLength?: boolean, type?: string } = {}): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (_req, res) => {
    // Without Content-Length the body is chunked: only reading it shows its size.
    res.writeHead(200, { 'Content-Type': options.type ?? 'application/x-bittorrent', ...(options.declareLength !== false ? { 'Content-Length': String(total) } : {}) })
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    let sent = 0
    const pump = (): void => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent)
        sent += n
        server.streamed += n
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { res.once('drain', pump); return }
      }
      res.end()
    }
    res.on('close', () => { sent = total })
    pump()
  }
}
