/**
 * Bad sources next to a good one: a 404, HTML that is not a listing, a feed with broken
 * items, a .torrent URL returning garbage, one returning 2 GB with a Content-Length and one
 * streaming 2 GB chunked. Each is named in exactly one warning (also across later polls),
 * the huge bodies are cut off at the cap (never buffered), and every good torrent is served.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import type { Warning } from '../../src/core/metadata-peer.ts'
import { MAX_TORRENT_FILE_SIZE } from '../../src/core/constants.ts'
import { singleFileTorrent } from '../fixtures/torrents.ts'
import { startSourceServer, hugeBody } from './source-server.ts'
import { fetchInfoDict } from './bep9.ts'
import { waitForEvent } from '../fixtures/discovery.ts'

const TWO_GB = 2 * 1024 ** 3

test('each bad source or item is one warning naming it; the good ones serve', { timeout: 90_000 }, async t => {
  const server = await startSourceServer(t)
  const good = await Promise.all([0, 1, 2].map(i => singleFileTorrent({ name: `good-${i}.bin` })))
  for (const x of good) server.put(`${x.name}.torrent`, x.torrentBytes)
  const feedTorrent = await singleFileTorrent({ name: 'feed-ok.bin' })
  server.route('/feed-ok.torrent', (_req, res) => { res.writeHead(200, { 'Content-Type': 'application/x-bittorrent' }); res.end(feedTorrent.torrentBytes) })
  server.route('/login.html', (_req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end('<html><head><title>Sign in</title></head><body><form><input name=user></form><a href="/help">help</a></body></html>') })
  server.route('/broken.rss', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/rss+xml' })
    res.end(`<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
      <item><title>no enclosure at all</title></item>
      <item><title>bad url</title><enclosure url="javascript:alert(1)" type="application/x-bittorrent"/></item>
      <item><title>fine</title><enclosure url="/feed-ok.torrent" type="application/x-bittorrent" length="1"/></item>
      <item><title>unclosed <enclosure url=</channel>`)
  })
  server.route('/garbage.torrent', (_req, res) => { res.writeHead(200, { 'Content-Type': 'application/x-bittorrent' }); res.end('this is not bencode at all') })
  server.route('/huge.torrent', hugeBody(server, TWO_GB))
  server.route('/huge-chunked.torrent', hugeBody(server, TWO_GB, { declareLength: false }))
  server.route('/bad.txt', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.end([server.url('/garbage.torrent'), server.url('/huge.torrent'), server.url('/huge-chunked.torrent'), 'http://[not-a-host/x.torrent'].join('\n'))
  })

  const sources = [server.url('/torrents/'), server.url('/missing/'), server.url('/login.html'), server.url('/broken.rss'), server.url('/bad.txt')]
  const warnings: Warning[] = []
  const fish = await createTorrentFish({
    port: 0,
    listenInterface: '127.0.0.1',
    discovery: false,
    sources: { locations: sources, pollIntervalMs: 200 }
  }, f => f.on('warning', w => warnings.push(w)))
  t.after(() => fish.close())
  // Three polls of every source, so a warning said again each poll would show.
  const polls = new Map<string, number>()
  await waitForEvent<[{ source: string }]>(fish.sources!, 'poll', r => {
    polls.set(r.source, (polls.get(r.source) ?? 0) + 1)
    return sources.every(s => (polls.get(s) ?? 0) >= 3)
  }, 60_000)

  for (const x of [...good, feedTorrent]) assert.deepEqual(await fetchInfoDict(fish.port, x.infoHash), x.infoBytes, `${x.name} is served`)
  assert.equal(fish.store.size, 4)

  const about = (needle: string): Warning[] => warnings.filter(w => w.message.includes(needle))
  const expect: Array<[string, RegExp]> = [
    [server.url('/missing/'), /HTTP 404/],
    [server.url('/login.html'), /not a directory listing/],
    [server.url('/garbage.torrent'), /not a valid \.torrent/],
    [server.url('/huge.torrent'), new RegExp(`body is ${TWO_GB} bytes, above the ${MAX_TORRENT_FILE_SIZE}-byte cap`)],
    [server.url('/huge-chunked.torrent'), new RegExp(`exceeds the ${MAX_TORRENT_FILE_SIZE}-byte cap; cut off`)]
  ]
  for (const [url, pattern] of expect) {
    const list = about(url)
    assert.equal(list.length, 1, `exactly one warning for ${url}: ${JSON.stringify(list)}`)
    assert.match(list[0].message, pattern)
  }
  const feedWarnings = about('broken.rss')
  assert.equal(feedWarnings.length, 1, JSON.stringify(feedWarnings))
  assert.match(feedWarnings[0].message, /items? without a usable \.torrent skipped: "no enclosure at all".*"bad url": enclosure URL "javascript:alert\(1\)"/)
  const manifestWarnings = about('bad.txt:')
  assert.equal(manifestWarnings.length, 1, JSON.stringify(manifestWarnings))
  assert.match(manifestWarnings[0].message, /line 4: not a URL/)
  // Nothing but those.
  assert.equal(warnings.length, expect.length + 2, warnings.map(w => w.message).join('\n'))
  // The chunked 2 GB body was read only up to the cap (plus what was in flight), each poll it was retried.
  assert.ok(server.streamed < 8 * MAX_TORRENT_FILE_SIZE, `streamed ${server.streamed} bytes of 2 GB bodies`)
  const health = fish.sources!.health()
  const bad = health.sources.find(s => s.source === server.url('/bad.txt'))!
  assert.equal(bad.ok, true)
  assert.equal(bad.failing, 3)
})
