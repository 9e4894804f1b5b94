/**
 * Reading a source's index into the .torrent URLs it lists: a web server's directory listing
 * (nginx/Apache autoindex), an RSS or Atom feed with enclosures, or a manifest (text or JSON).
 * HTML and XML go through htmlparser2 (a tolerant streaming parser), never regular expressions.
 * Each entry may carry a fingerprint (the listing row's date and size, an item's date and
 * length): when it changes, the .torrent is fetched again at once.
 */
import { Parser } from 'htmlparser2'
import { SourceError } from './errors.ts'

export type IndexKind = 'listing' | 'feed' | 'manifest'

export interface IndexEntry {
  url: string
  fingerprint?: string
  /** The info hash the index states (JSON manifests); lets a shard skip others' torrents. */
  infoHash?: string
}

export interface ParsedIndex {
  entries: IndexEntry[]
  /** Items that could not be used, each described (a feed item with no .torrent enclosure...). */
  broken: string[]
  /** Subdirectory listings to read too (listings only). */
  subdirs: string[]
}

const decoder = new TextDecoder('utf-8', { fatal: false })

/** The kind an index URL names by its shape, or by the Content-Type it was served with. */
export function indexKind (url: string, contentType = ''): IndexKind | undefined {
  const path = new URL(url).pathname.toLowerCase()
  if (path.endsWith('.rss') || path.endsWith('.atom') || path.endsWith('.xml')) return 'feed'
  if (path.endsWith('.txt') || path.endsWith('.json')) return 'manifest'
  if (path.endsWith('/')) return 'listing'
  if (/(rss|atom)\+xml$|\/xml$/.test(contentType)) return 'feed'
  if (contentType === 'text/plain' || contentType === 'application/json') return 'manifest'
  if (contentType === 'text/html' || contentType === 'application/xhtml+xml') return 'listing'
  return undefined
}

/** Content types accepted for an index body of each kind ('' = unlabelled, accepted). */
export function indexTypeCheck (kind: IndexKind | undefined): (t: string) => boolean {
  return t => {
    if (t === '') return true
    if (kind === 'listing') return t === 'text/html' || t === 'application/xhtml+xml'
    if (kind === 'feed') return /xml$/.test(t) || t === 'text/plain'
    if (kind === 'manifest') return t === 'text/plain' || t === 'application/json' || t === 'application/octet-stream'
    return t === 'text/html' || t === 'application/xhtml+xml' || /xml$/.test(t) || t === 'text/plain' || t === 'application/json'
  }
}

function resolve (href: string, base: string): URL | undefined {
  try {
    const u = new URL(href.trim(), base)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined
    u.hash = ''
    return u
  } catch {
    return undefined
  }
}

function isTorrentPath (u: URL): boolean {
  return u.pathname.toLowerCase().endsWith('.torrent')
}

export function parseIndex (kind: IndexKind, bytes: Uint8Array, url: string): ParsedIndex {
  if (kind === 'listing') return parseListing(bytes, url)
  if (kind === 'feed') return parseFeed(bytes, url)
  return parseManifest(bytes, url)
}

/**
 * An autoindex page: links to `*.torrent` on the same server, and links to subdirectories
 * below this one. A page that is neither titled "Index of" nor links any .torrent is not a
 * listing (a login page, an error page served as 200), and reading it is an error, so what
 * was served stays.
 */
export function parseListing (bytes: Uint8Array, url: string): ParsedIndex {
  const base = new URL(url)
  const entries: IndexEntry[] = []
  const subdirs: string[] = []
  const seen = new Set<string>()
  let heading = ''
  let inHeading = false
  let current: IndexEntry | null = null
  let rowText = ''
  const finishRow = (): void => {
    const fp = rowText.replace(/\s+/g, " ").trim()
    if (current && fp) current.fingerprint = fp
    current = null
    rowText = ''
  }
  const parser = new Parser({
    onopentag (name, attrs) {
      if (name === 'title' || name === 'h1') inHeading = true
      if (name === 'tr') finishRow()
      if (name !== 'a' || attrs.href === undefined) return
      finishRow()
      const u = resolve(attrs.href, url)
      if (!u || u.origin !== base.origin) return
      if (isTorrentPath(u)) {
        u.search = ''
        if (seen.has(u.href)) return
        seen.add(u.href)
        current = { url: u.href }
        entries.push(current)
      } else if (u.pathname.endsWith('/') && u.search === '' && u.pathname.startsWith(base.pathname) && u.pathname.length > base.pathname.length) {
        if (!subdirs.includes(u.href)) subdirs.push(u.href)
      }
    },
    ontext (text) {
      if (inHeading && heading.length < 200) heading += text
      else if (current && rowText.length < 200) rowText += text
    },
    onclosetag (name) {
      if (name === 'title' || name === 'h1') inHeading = false
      if (name === 'tr') finishRow()
    }
  }, { decodeEntities: true })
  parser.end(decoder.decode(bytes))
  finishRow()
  if (entries.length === 0 && !/^\s*index of\b/i.test(heading)) {
    throw new SourceError('ERR_SOURCE_NOT_LISTING', url, 'not a directory listing (no "Index of" title and no links to .torrent files)')
  }
  return { entries, broken: [], subdirs }
}

/**
 * An RSS 2.0 or Atom feed: each item's `<enclosure url type>` (RSS) or
 * `<link rel="enclosure" href type>` (Atom) of type application/x-bittorrent, or naming a
 * .torrent URL. An item with none is broken: counted and described, the others still load.
 * An item of one .torrent that states its info hash, as trackers' feeds do (`<torrent:infoHash>`
 * of the ezRSS namespace, `<nyaa:infoHash>`, any `*:infoHash`, or a `magnet:?xt=urn:btih:` in
 * `<torrent:magnetURI>` or a link), lets a shard skip other shards' torrents.
 */
export function parseFeed (bytes: Uint8Array, url: string): ParsedIndex {
  const entries: IndexEntry[] = []
  const broken: string[] = []
  const seen = new Set<string>()
  let root: string | undefined
  let item: { title: string, guid: string, date: string, hash: string, found: Array<{ url: string, length?: string }>, bad: string[] } | null = null
  let field: 'title' | 'guid' | 'date' | 'hash' | null = null
  const parser = new Parser({
    onopentag (rawName, attrs) {
      const name = rawName.toLowerCase()
      root ??= name
      if (name === 'item' || name === 'entry') { item = { title: '', guid: '', date: '', hash: '', found: [], bad: [] }; return }
      if (!item) return
      if (name === 'title') field = 'title'
      else if (name === 'guid' || name === 'id') field = 'guid'
      else if (name === 'pubdate' || name === 'updated' || name === 'published') field = 'date'
      else if (name.endsWith(':infohash') || name.endsWith(':magneturi')) field = 'hash'
      if (name === 'link' && attrs.href?.startsWith('magnet:') && item.hash.length < 1000) item.hash += ` ${attrs.href}`
      const isEnclosure = name === 'enclosure' || (name === 'link' && (attrs.rel ?? '').toLowerCase() === 'enclosure')
      if (!isEnclosure) return
      const href = name === 'enclosure' ? attrs.url : attrs.href
      const type = (attrs.type ?? '').split(';')[0].trim().toLowerCase()
      const u = href === undefined ? undefined : resolve(href, url)
      if (!u) { item.bad.push(`enclosure URL "${String(href ?? '').slice(0, 100)}" is not an http(s) URL`); return }
      if (type === 'application/x-bittorrent' || (type === '' && isTorrentPath(u)) || (type === 'application/octet-stream' && isTorrentPath(u))) {
        item.found.push({ url: u.href, ...(attrs.length ? { length: attrs.length } : {}) })
      }
    },
    ontext (text) {
      if (item && field && item[field].length < (field === 'hash' ? 1000 : 200)) item[field] += text
    },
    onclosetag (rawName) {
      const name = rawName.toLowerCase()
      if (name === 'title' || name === 'guid' || name === 'id' || name === 'pubdate' || name === 'updated' || name === 'published' || name.endsWith(':infohash') || name.endsWith(':magneturi')) field = null
      if ((name === 'item' || name === 'entry') && item) {
        const it = item
        item = null
        const label = it.title.trim() || it.guid.trim() || `item ${entries.length + broken.length + 1}`
        if (it.found.length === 0) {
          broken.push(`"${label.slice(0, 100)}": ${it.bad[0] ?? 'no application/x-bittorrent enclosure'}`)
          return
        }
        // Which .torrent a stated hash belongs to is only sure when the item has one.
        const infoHash = it.found.length === 1 ? statedHash(it.hash) : undefined
        for (const f of it.found) {
          if (seen.has(f.url)) continue
          seen.add(f.url)
          const fingerprint = [it.date.trim(), f.length ?? ''].filter(Boolean).join(' ')
          entries.push({ url: f.url, ...(fingerprint ? { fingerprint } : {}), ...(infoHash ? { infoHash } : {}) })
        }
      }
    }
  }, { xmlMode: true, decodeEntities: true })
  parser.end(decoder.decode(bytes))
  if (root !== 'rss' && root !== 'feed' && root !== 'rdf:rdf') {
    throw new SourceError('ERR_SOURCE_NOT_FEED', url, `not an RSS or Atom feed (root element ${root ? `<${root}>` : 'missing'})`)
  }
  return { entries, broken, subdirs: [] }
}

/** An info hash a feed item states: a bare 40-hex `*:infoHash`, or a magnet's `xt=urn:btih:` (hex). */
function statedHash (text: string): string | undefined {
  const t = text.trim()
  if (/^[0-9a-f]{40}$/i.test(t)) return t.toLowerCase()
  const m = /(?:^|[?&\s])xt=urn:btih:([0-9a-f]{40})(?![0-9a-z])/i.exec(t)
  return m ? m[1].toLowerCase() : undefined
}

/**
 * A manifest: text with one .torrent URL per line (blank lines and `#` comments skipped), or
 * JSON: an array of URLs or of `{ "url": ..., "infoHash": ... }` objects, or an object with
 * such a `torrents` array. A stated info hash lets a shard skip fetching other shards' torrents. Relative URLs resolve against the manifest's own URL.
 */
export function parseManifest (bytes: Uint8Array, url: string): ParsedIndex {
  let text = decoder.decode(bytes)
  const entries: IndexEntry[] = []
  const broken: string[] = []
  const seen = new Set<string>()
  const take = (value: unknown, where: string): void => {
    const href = typeof value === 'string' ? value : (value && typeof value === 'object' && typeof (value as { url?: unknown }).url === 'string') ? (value as { url: string }).url : undefined
    const u = href === undefined ? undefined : resolve(href, url)
    if (!u) { broken.push(`${where}: not a URL`); return }
    if (seen.has(u.href)) return
    seen.add(u.href)
    const stated = value && typeof value === 'object' ? ((value as { infoHash?: unknown }).infoHash ?? (value as { info_hash?: unknown }).info_hash) : undefined
    const infoHash = typeof stated === 'string' && /^[0-9a-f]{40}$/i.test(stated) ? stated.toLowerCase() : undefined
    entries.push({ url: u.href, ...(infoHash ? { infoHash } : {}) })
  }
  if (new URL(url).pathname.toLowerCase().endsWith('.json') || /^\s*[[{]/.test(text)) {
    let doc: unknown
    try { doc = JSON.parse(text) } catch (err) {
      throw new SourceError('ERR_SOURCE_PARSE', url, `manifest is not valid JSON: ${(err as Error).message}`)
    }
    text = '' // 100 MB of text need not live through the walk below
    const list = Array.isArray(doc) ? doc : (doc && typeof doc === 'object' && Array.isArray((doc as { torrents?: unknown }).torrents)) ? (doc as { torrents: unknown[] }).torrents : undefined
    if (!list) throw new SourceError('ERR_SOURCE_PARSE', url, 'JSON manifest is neither an array nor an object with a "torrents" array')
    list.forEach((v, i) => take(v, `entry ${i + 1}`))
  } else {
    text.split(/\r?\n/).forEach((line, i) => {
      const s = line.trim()
      if (s === '' || s.startsWith('#')) return
      take(s, `line ${i + 1}`)
    })
  }
  return { entries, broken, subdirs: [] }
}
