/**
 * `GET /`: a small server-rendered status page. Every value from a torrent or a peer is
 * escaped (torrent names are attacker-controlled), the only script is the copy button's with
 * a per-response nonce, and the torrent list is paged so 100k torrents render as fast as 10.
 */
import { randomBytes } from 'node:crypto'
import { composeMagnet } from '../core/magnet.ts'
import type { TorrentRecord } from '../core/torrent.ts'
import type { HealthSources, TorrentCatalogue } from './host.ts'
import type { HealthReport } from './health.ts'

export const DEFAULT_PAGE_SIZE = 50
/** Longest search text we take; names are short and a long query is only CPU for nothing. */
const MAX_QUERY = 200

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (value: unknown): string {
  return String(value).replace(/[&<>"']/g, c => ESCAPES[c])
}

export function formatBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1 }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`
}

export interface StatusPageInput {
  fish: (HealthSources & TorrentCatalogue)
  health: HealthReport
  publicUrl: string | undefined
  /** Path prefix of links (the public URL's path, so links work behind a reverse proxy). */
  basePath: string
  page: number
  pageSize: number
  query: string
}

export interface RenderedPage {
  html: string
  nonce: string
}

function select (fish: (HealthSources & TorrentCatalogue), query: string, page: number, pageSize: number): { rows: TorrentRecord[], total: number, page: number } {
  const q = query.toLowerCase()
  const matching = (r: TorrentRecord): boolean => q === '' || r.infoHash.startsWith(q) || r.name.toLowerCase().includes(q)
  // One pass: count every match, keep only the requested page.
  let total = 0
  const rows: TorrentRecord[] = []
  const first = (page - 1) * pageSize
  for (const r of fish.store.records()) {
    if (!matching(r)) continue
    if (total >= first && rows.length < pageSize) rows.push(r)
    total += 1
  }
  return { rows, total, page }
}

function link (basePath: string, params: Record<string, string | number>): string {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v !== 1).map(([k, v]) => [k, String(v)])).toString()
  return escapeHtml(`${basePath}/${qs ? `?${qs}` : ''}`)
}

export function renderStatusPage (input: StatusPageInput): RenderedPage {
  const { fish, health, publicUrl, basePath, pageSize } = input
  const query = input.query.slice(0, MAX_QUERY)
  const stats = fish.getStats()
  const { rows, total } = select(fish, query, input.page, pageSize)
  const pages = Math.max(1, Math.ceil(total / pageSize))
  const page = Math.min(input.page, pages)
  const nonce = randomBytes(16).toString('base64')
  const web = fish.webSeedHealth

  const counters: Array<[string, string | number]> = [
    ['Torrents', stats.torrents],
    ['Peers open', health.peers],
    ['Connections', Object.values(stats.byTransport).reduce((n, t) => n + t.connections, 0)],
    ['Metadata served', stats.metadataServed],
    ['Metadata pieces', stats.metadataPiecesServed],
    ['Rejects', stats.metadataRejects],
    ['Bytes served', formatBytes(stats.bytesServed)]
  ]
  const transports = health.transports.map(t => `${t.name} ${t.address.includes(':') ? `[${t.address}]` : t.address}:${t.port}`).join(', ') || 'none'
  const webSummary = health.webSeeds
    ? Object.entries(health.webSeeds).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ') || 'no torrents with web seeds'
    : 'checks off'
  const trackers = health.trackers ? `${health.trackers.reachable} reachable, ${health.trackers.failing} failing` : 'not running'

  const body = rows.map(r => {
    const magnet = composeMagnet(r, { torrentBaseUrl: publicUrl })
    const ts = fish.torrentStats(r.infoHash)
    const ws = web?.get(r.infoHash)
    const wsCell = r.urlList.length === 0
      ? '<span class="bad" title="no url-list: downloads cannot start">none</span>'
      : ws
        ? `<span class="${ws.status === 'ok' ? 'ok' : 'bad'}" title="${escapeHtml(ws.reason ?? ws.urls.map(u => u.url).join(' '))}">${escapeHtml(ws.status)}</span>`
        : `<span title="${escapeHtml(r.urlList.join(' '))}">${web ? 'unchecked' : 'yes'}</span>`
    return `<tr>
<td><div class="name">${escapeHtml(r.name)}</div><code>${escapeHtml(r.infoHash)}</code>${r.private ? ' <span class="bad">private</span>' : ''}</td>
<td class="n">${escapeHtml(formatBytes(r.length))}</td><td class="n">${r.fileCount}</td><td class="n">${ts.peers}</td><td class="n">${ts.metadataServed}</td>
<td>${wsCell}</td>
<td class="magnet"><input readonly value="${escapeHtml(magnet)}" aria-label="magnet link"><button type="button" data-copy>copy</button> <a href="${escapeHtml(magnet)}">open</a> <a href="${escapeHtml(`${basePath}/${r.infoHash}.torrent`)}">.torrent</a></td>
</tr>`
  }).join('\n')

  const from = total === 0 ? 0 : (page - 1) * pageSize + 1
  const to = Math.min(total, page * pageSize)
  const nav = `<nav>${page > 1 ? `<a href="${link(basePath, { q: query, page: page - 1 })}">&larr; previous</a>` : ''}
<span>${from}&ndash;${to} of ${total}${query ? ` matching &ldquo;${escapeHtml(query)}&rdquo;` : ''}</span>
${page < pages ? `<a href="${link(basePath, { q: query, page: page + 1 })}">next &rarr;</a>` : ''}</nav>`

  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>torrent-fish</title>
<style nonce="${nonce}">
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em;margin:0 0 .5em}
.counters{display:flex;flex-wrap:wrap;gap:.5em 1.5em;margin:.5em 0}.counters b{display:block;font-size:1.3em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
.n{text-align:right;white-space:nowrap}code{font-size:.8em;color:#666}.name{word-break:break-all}
.magnet input{width:16em;font-size:.8em}.ok{color:#070}.bad{color:#b00}nav{margin:.8em 0;display:flex;gap:1.5em}
</style></head><body>
<h1>torrent-fish</h1>
<p>A metadata-only BitTorrent peer. Ready: <b class="${health.ready ? 'ok' : 'bad'}">${health.ready ? 'yes' : `no (${escapeHtml(health.reason ?? '')})`}</b>.
Listening: ${escapeHtml(transports)}. Trackers: ${escapeHtml(trackers)}. Web seeds: ${escapeHtml(webSummary)}.
<a href="${escapeHtml(basePath)}/metrics">metrics</a> &middot; <a href="${escapeHtml(basePath)}/health">health</a></p>
<div class="counters">${counters.map(([k, v]) => `<div>${escapeHtml(k)}<b>${escapeHtml(v)}</b></div>`).join('')}</div>
<form method="get" action="${escapeHtml(basePath)}/"><input name="q" value="${escapeHtml(query)}" placeholder="name or info hash" maxlength="${MAX_QUERY}"> <button>search</button></form>
${nav}
<table><thead><tr><th>Torrent</th><th class="n">Size</th><th class="n">Files</th><th class="n">Peers</th><th class="n">Served</th><th>Web seed</th><th>Magnet</th></tr></thead>
<tbody>
${body}
</tbody></table>
${nav}
<script nonce="${nonce}">
document.addEventListener('click', async e => {
  const b = e.target.closest('[data-copy]'); if (!b) return
  const input = b.previousElementSibling
  try { await navigator.clipboard.writeText(input.value) } catch { input.select(); document.execCommand('copy') }
  b.textContent = 'copied'; setTimeout(() => { b.textContent = 'copy' }, 1500)
})
</script>
</body></html>
`
  return { html, nonce }
}
