/**
 * Acceptance: the torrent-fish CLI with an autoindex directory, an RSS feed and a JSON
 * manifest (three web servers on loopback) plus a local directory serves every torrent in
 * them to a real BEP 9 client and over HTTP byte-exact; adding, replacing and removing on
 * the servers is reflected within the poll interval; the servers going down changes nothing
 * served; a restart with them still down serves from the cache.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { singleFileTorrent, writeTorrentFiles, type FixtureTorrent } from '../fixtures/torrents.ts'
import { spawnCli, type CliProcess } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { startSourceServer } from './source-server.ts'
import { fetchInfoDict } from './bep9.ts'

async function make (tag: string, n: number): Promise<FixtureTorrent[]> {
  return await Promise.all(Array.from({ length: n }, (_, i) => singleFileTorrent({ name: `${tag}-${i}.bin`, size: 10_000 + i * 7 })))
}

async function assertServed (fish: CliProcess, httpUrl: string, list: FixtureTorrent[]): Promise<void> {
  for (const x of list) {
    const info = await fetchInfoDict(fish.port, x.infoHash)
    assert.deepEqual(info, x.infoBytes, `${x.name}: exact info dict over BEP 9`)
    const res = await fetch(`${httpUrl}/${x.infoHash}.torrent`)
    assert.equal(res.status, 200, `${x.name} over HTTP`)
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), x.torrentBytes, `${x.name}: .torrent byte-exact over HTTP`)
  }
}

test('CLI: listing + RSS + manifest + local directory, kept in sync; outages change nothing; restart serves from the cache', { timeout: 120_000 }, async t => {
  const listing = await startSourceServer(t)
  const feed = await startSourceServer(t)
  const manifest = await startSourceServer(t)
  const [l, r, m, d] = await Promise.all([make('listing', 3), make('rss', 3), make('manifest', 3), make('local', 2)])
  for (const x of l) listing.put(`${x.name}.torrent`, x.torrentBytes)
  for (const x of r) feed.put(`${x.name}.torrent`, x.torrentBytes)
  for (const x of m) manifest.put(`${x.name}.torrent`, x.torrentBytes)
  const dir = await tmpDir(t, 'local')
  await writeTorrentFiles(dir, d)
  const state = await tmpDir(t, 'state')
  const args = [
    '-l', listing.url('/torrents/'), '-l', feed.url('/feed.rss'), '-l', manifest.url('/manifest.json'), '-l', dir,
    '--poll-interval', '1', '--state-dir', state, '--http', '127.0.0.1:0', '--no-announce', '-v'
  ]
  let fish = await spawnCli(args, t)
  const http = await fish.waitFor('http')
  const all = [...l, ...r, ...m, ...d]
  for (const x of all) await fish.waitFor('torrent-added', e => e.infoHash === x.infoHash)
  await assertServed(fish, http.url, all)

  // Add on the listing, replace on the feed (same URL, other bytes), remove from the manifest.
  const added = (await make('listing-new', 1))[0]
  const replacement = await singleFileTorrent({ name: r[0].name, size: 55_555, seed: 'replacement' })
  const changedAt = Date.now()
  listing.put(`${added.name}.torrent`, added.torrentBytes)
  feed.put(`${r[0].name}.torrent`, replacement.torrentBytes)
  manifest.remove(`${m[0].name}.torrent`)
  await fish.waitFor('torrent-added', e => e.infoHash === added.infoHash)
  await fish.waitFor('torrent-added', e => e.infoHash === replacement.infoHash)
  await fish.waitFor('torrent-removed', e => e.infoHash === r[0].infoHash)
  await fish.waitFor('torrent-removed', e => e.infoHash === m[0].infoHash)
  const tookMs = Date.now() - changedAt
  // One 1 s interval plus the requests (generous on a loaded machine).
  assert.ok(tookMs < 8000, `changes applied within the poll interval (took ${tookMs} ms)`)
  const now = [...l, added, replacement, ...r.slice(1), ...m.slice(1), ...d]
  await assertServed(fish, http.url, now)
  const gone = await fetch(`${http.url}/${m[0].infoHash}.torrent`)
  assert.equal(gone.status, 404)

  // Every server goes down: each source says so once, nothing served changes.
  const mark = fish.events.length
  await Promise.all([listing.down(), feed.down(), manifest.down()])
  for (const s of [listing, feed, manifest]) {
    await fish.waitFor('warning', e => e.message.startsWith(s.url('')) && /still serving the last good set/.test(e.message))
  }
  await fish.waitFor('source-poll', e => e.ok === false && e.source === manifest.url('/manifest.json'))
  assert.equal(fish.events.slice(mark).filter(e => e.event === 'torrent-removed').length, 0, 'an outage removes nothing')
  await assertServed(fish, http.url, now)
  const health = await (await fetch(`${http.url}/health`)).json()
  const failing = health.sources.sources.filter((s: { ok: boolean }) => s.ok === false).map((s: { source: string }) => s.source).sort()
  assert.deepEqual(failing, [listing.url('/torrents/'), feed.url('/feed.rss'), manifest.url('/manifest.json')].sort())
  const metrics = await (await fetch(`${http.url}/metrics`)).text()
  assert.match(metrics, new RegExp(`torrent_fish_source_up\\{source="${manifest.url('/manifest.json').replace(/[.?/]/g, '\\$&')}",kind="manifest"\\} 0`))
  assert.equal(await fish.stop(), 0)

  // Restart with the servers still down: everything is served at once from the cache.
  fish = await spawnCli(args, t)
  const loaded = await fish.waitFor('loaded')
  assert.equal(loaded.loaded, now.length, `served from the cache at start: ${JSON.stringify(loaded)}`)
  const http2 = await fish.waitFor('http')
  await assertServed(fish, http2.url, now)
  assert.equal(await fish.stop(), 0)
})
