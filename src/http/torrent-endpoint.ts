/**
 * `GET /<infohash>.torrent`: the original .torrent bytes of a loaded torrent, for the magnet's
 * `xs=` parameter (WebTorrent and anacrolix-based clients fetch metadata this way). The path
 * only ever selects a loaded torrent by hash; no part of it reaches the file system.
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HealthSources, TorrentCatalogue } from './host.ts'
import { parseInfoHash } from './info-hash.ts'
import { CORS_HEADERS, send, sendError } from './responses.ts'

/**
 * Clients may cache briefly: the info dict never changes for a hash, but the file around it
 * (trackers, web seeds) may be rewritten, and the ETag lets them revalidate cheaply.
 */
const CACHE_CONTROL = 'public, max-age=300'

/** A file name any browser and shell accepts: ASCII letters, digits and a few marks. */
export function safeFileName (name: string, fallback: string): string {
  const ascii = name.normalize('NFKD').replace(/[^A-Za-z0-9._ -]+/g, '_').replace(/^[.\s_-]+/, '').trim().slice(0, 120)
  return `${ascii.length > 0 ? ascii : fallback}.torrent`
}

function contentDisposition (name: string, infoHash: string): string {
  const ascii = safeFileName(name, infoHash)
  const utf8 = encodeURIComponent(`${name}.torrent`).replace(/['()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`
}

/** Whether an If-None-Match header matches our ETag (a list, weak forms, or `*`). */
function matches (header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header.split(',').some(tag => {
    const t = tag.trim()
    return t === '*' || t === etag || t === `W/${etag}`
  })
}

/** The hash named by `<hash>.torrent`, null when malformed. */
export function torrentPathHash (segment: string): string | null {
  if (!segment.toLowerCase().endsWith('.torrent')) return null
  return parseInfoHash(segment.slice(0, -'.torrent'.length))
}

export async function serveTorrentFile (fish: TorrentCatalogue, req: IncomingMessage, res: ServerResponse, segment: string, onServed: () => void): Promise<void> {
  const infoHash = torrentPathHash(segment)
  if (infoHash === null) {
    return sendError(req, res, 400, 'ERR_BAD_INFO_HASH', 'expected /<info hash>.torrent with 40 hex or 32 base32 characters', CORS_HEADERS)
  }
  const record = fish.getTorrent(infoHash)
  const bytes = record ? await fish.store.torrentFile(record.infoHash).catch(() => undefined) : undefined
  if (!record || !bytes) {
    // Sharded: a torrent another instance serves is still handed out, naming its shard.
    const other = fish.sources ? await fish.sources.otherShardTorrent(infoHash) : undefined
    if (other && 'url' in other) {
      // Not fetched here (the manifest stated its hash): the publisher's own URL has it.
      res.writeHead(307, { ...CORS_HEADERS, Location: other.url, 'X-Torrent-Fish-Shard': `${other.shard}/${fish.sources!.shard!.count}` })
      return void res.end()
    }
    if (other) {
      if (req.method === 'GET') onServed()
      return send(req, res, 200, other.bytes, {
        ...CORS_HEADERS,
        'Cache-Control': CACHE_CONTROL,
        'Content-Type': 'application/x-bittorrent',
        'Content-Disposition': contentDisposition(other.name, infoHash),
        'X-Torrent-Fish-Shard': `${other.shard}/${fish.sources!.shard!.count}`
      })
    }
    return sendError(req, res, 404, 'ERR_UNKNOWN_TORRENT', `no torrent with info hash ${infoHash} is loaded`, CORS_HEADERS)
  }
  const etag = `"${createHash('sha1').update(bytes).digest('base64url')}"`
  const headers = {
    ...CORS_HEADERS,
    ETag: etag,
    'Cache-Control': CACHE_CONTROL
  }
  if (matches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, { ...headers, 'X-Content-Type-Options': 'nosniff' })
    return void res.end()
  }
  if (req.method === 'GET') onServed()
  send(req, res, 200, bytes, {
    ...headers,
    'Content-Type': 'application/x-bittorrent',
    'Content-Disposition': contentDisposition(record.name, record.infoHash)
  })
}
