/**
 * The HTTP face of a torrent-fish service: `/<infohash>.torrent` for magnets' `xs=`,
 * `/health`, `/metrics`, a status page at `/`, and (with a token) `POST /torrents` and
 * `DELETE /torrents/<infohash>`. Plain node:http: five routes need no framework.
 */
import { listenAnyStack } from '../transport/listen.ts'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { HttpHost, ListeningAddress } from './host.ts'
import { urlHost } from '../util/address.ts'
import { addTorrentRoute, authorized, refuseBody, removeTorrentRoute } from './admin.ts'
import { DiscoveryView } from './discovery-view.ts'
import { healthReport, requiredTransports, HTTP_TRANSPORT_NAME } from './health.ts'
import { createMetrics, type HttpCounters } from './metrics.ts'
import { CORS_HEADERS, send, sendError, sendJson } from './responses.ts'
import { renderStatusPage } from './status-page.ts'
import { serveTorrentFile } from './torrent-endpoint.ts'
import { gateHeaders, type HeaderGate } from './header-gate.ts'

import { resolveHttpOptions, type HttpOptions } from './options.ts'

export type { HttpOptions } from './options.ts'

export interface HttpFace {
  readonly server: http.Server
  readonly port: number
  readonly address: string
  /** `http://host:port` as bound (loopback-friendly for tests). */
  readonly url: string
  /** The public base URL when configured, else `url`. */
  readonly publicUrl: string | undefined
  /** The first stage for connections still sending headers; null when off or unavailable. */
  readonly headerGate: HeaderGate | null
  /** `[{ name: 'http', ... }]` while listening. */
  listening (): ListeningAddress[]
  close (): Promise<void>
}

/**
 * Longest request target we read. Real paths here are < 100 bytes; a long URL is a probe or a
 * mistake, and answering 414 early keeps logs and parsers small. (Node itself refuses whole
 * header blocks above 16 KiB with 431.)
 */
export const MAX_URL_LENGTH = 2048

/** Starts the HTTP face for a host; stop it with `close()` (the service, its owner, does on close). */
export async function startHttp (fish: HttpHost, given: HttpOptions): Promise<HttpFace> {
  const options = resolveHttpOptions(given)
  const publicUrl = options.publicUrl === undefined ? undefined : new URL(options.publicUrl)
  const publicBase = publicUrl ? publicUrl.href.replace(/\/+$/, '') : undefined
  const basePath = publicUrl ? publicUrl.pathname.replace(/\/+$/, '') : ''
  const startedAt = Date.now()
  // The service starts its listeners before this server: those must stay up to be ready.
  const required = requiredTransports(fish)
  const discovery = new DiscoveryView(fish, options.discovery)
  const counters: HttpCounters = { torrentFilesServed: 0, requests: new Map() }
  const registry = createMetrics(fish, discovery, counters, { processMetrics: options.processMetrics })
  const pageSize = options.pageSize

  const count = (route: string, code: number): void => {
    const key = `${route} ${code}`
    counters.requests.set(key, (counters.requests.get(key) ?? 0) + 1)
  }

  async function route (req: http.IncomingMessage, res: http.ServerResponse): Promise<string> {
    const target = req.url ?? '/'
    if (target.length > MAX_URL_LENGTH) {
      sendError(req, res, 414, 'ERR_URL_TOO_LONG', `request target is longer than ${MAX_URL_LENGTH} bytes`, CORS_HEADERS)
      return 'other'
    }
    // No route has dots, encoded slashes or backslashes in its path: refuse them outright
    // rather than let URL parsing normalise `/../x` into something that looks valid.
    const rawPath = target.split('?')[0]
    if (!rawPath.startsWith('/') || /(^|\/)\.{1,2}(\/|$)|%2e|%2f|%5c|%00|\\/i.test(rawPath)) {
      sendError(req, res, 400, 'ERR_BAD_PATH', 'malformed request path')
      return 'other'
    }
    let url: URL
    try { url = new URL(target, 'http://localhost') } catch {
      sendError(req, res, 400, 'ERR_BAD_URL', 'malformed request target')
      return 'other'
    }
    let pathname = url.pathname
    if (basePath && (pathname === basePath || pathname.startsWith(basePath + '/'))) pathname = pathname.slice(basePath.length) || '/'
    const method = req.method ?? 'GET'
    const read = method === 'GET' || method === 'HEAD'

    if (method === 'OPTIONS') {
      res.writeHead(204, { ...CORS_HEADERS, 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': 'If-None-Match', 'Access-Control-Max-Age': '86400' })
      res.end()
      return 'preflight'
    }
    // The admin routes first: they exist only with a token.
    if (pathname === '/torrents' || pathname.startsWith('/torrents/')) {
      if (options.token === undefined) { sendError(req, res, 404, 'ERR_NOT_FOUND', 'not found'); return 'other' }
      if (!authorized(req, options.token)) {
        refuseBody(req, res, 401, 'ERR_UNAUTHORIZED', 'a valid bearer token is required', { 'WWW-Authenticate': 'Bearer realm="torrent-fish"' })
        return 'admin'
      }
      if (pathname === '/torrents' && method === 'POST') { await addTorrentRoute(fish, req, res, options.maxBodyBytes); return 'admin' }
      if (pathname.startsWith('/torrents/') && method === 'DELETE') { await removeTorrentRoute(fish, req, res, pathname.slice('/torrents/'.length)); return 'admin' }
      refuseBody(req, res, 405, 'ERR_METHOD', `${method} is not allowed here`, { Allow: pathname === '/torrents' ? 'POST' : 'DELETE' })
      return 'admin'
    }
    if (!read) {
      refuseBody(req, res, 405, 'ERR_METHOD', `${method} is not allowed here`, { Allow: 'GET, HEAD' })
      return 'other'
    }
    if (pathname === '/health') {
      const report = healthReport(fish, discovery, startedAt, required)
      sendJson(req, res, report.ready ? 200 : 503, report, CORS_HEADERS)
      return 'health'
    }
    if (pathname === '/metrics') {
      const text = await registry.metrics()
      send(req, res, 200, text, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' })
      return 'metrics'
    }
    if (pathname === '/') {
      const page = Math.max(1, Math.min(1e7, Number.parseInt(url.searchParams.get('page') ?? '1', 10) || 1))
      const { html, nonce } = renderStatusPage({
        fish, health: healthReport(fish, discovery, startedAt, required), publicUrl: publicBase, basePath, page, pageSize, query: url.searchParams.get('q') ?? ''
      })
      send(req, res, 200, html, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'Content-Security-Policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
        'Referrer-Policy': 'no-referrer'
      })
      return 'status'
    }
    // Exactly one path segment ending in .torrent; anything deeper is not ours.
    const segment = pathname.slice(1)
    if (!segment.includes('/') && segment.toLowerCase().endsWith('.torrent')) {
      await serveTorrentFile(fish, req, res, segment, () => { counters.torrentFilesServed += 1 })
      return 'torrent'
    }
    sendError(req, res, 404, 'ERR_NOT_FOUND', 'not found', CORS_HEADERS)
    return 'other'
  }

  const server = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    route(req, res).then(name => count(name, res.statusCode), err => {
      fish.warnError(err, `http ${req.method} ${(req.url ?? '').slice(0, 200)}`)
      if (!res.headersSent) sendError(req, res, 500, 'ERR_INTERNAL', 'internal error')
      else res.destroy()
      count('error', 500)
    })
  })
  // Idle keep-alive sockets must not hold shutdown up.
  server.keepAliveTimeout = 5000
  // A socket with no traffic either way is destroyed (node:http does so when no one listens
  // for 'timeout'): a client that stopped reading a reply gives its bytes back.
  server.setTimeout(options.idleTimeoutMs)

  await listenAnyStack(server, options.port, options.host, 'HTTP')
  server.on('error', err => fish.warnError(err, 'http server'))
  // Connections still sending their headers wait as bare handles (slow-header floods).
  const gate = options.headerGate === false ? null : gateHeaders(server, options.headerGate ?? {})
  counters.headerGate = gate ?? undefined
  const bound = server.address() as AddressInfo
  const shown = urlHost(bound.address)
  let closing: Promise<void> | null = null
  const face: HttpFace = {
    server,
    port: bound.port,
    address: bound.address,
    url: `http://${shown}:${bound.port}`,
    publicUrl: publicBase,
    headerGate: gate,
    listening: () => server.listening ? [{ name: HTTP_TRANSPORT_NAME, address: bound.address, port: bound.port }] : [],
    close: () => (closing ??= new Promise(resolve => {
      server.close(() => resolve())
      gate?.close()
      server.closeAllConnections()
    }))
  }
  return face
}
