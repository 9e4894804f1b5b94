/**
 * Indexes that state info hashes up front let a shard fetch only its own share: JSON
 * manifests (remote-source.test.ts) and, here, feeds as trackers publish them (the ezRSS
 * `<torrent:infoHash>` / `<torrent:magnetURI>`, `<nyaa:infoHash>`, an Atom magnet link). A
 * stated hash that is wrong is one warning naming the URL; the torrent is still served under
 * its real hash. Real HTTP server on loopback, time on a manual clock.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RemoteSource } from '../../src/sources/remote-source.ts'
import { parseFeed } from '../../src/sources/index-parsers.ts'
import { ManualClock } from '../../src/sources/clock.ts'
import type { SourceTorrent, SourceWarning } from '../../src/sources/source.ts'
import { singleFileTorrent, type FixtureTorrent } from '../fixtures/torrents.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { startSourceServer } from './source-server.ts'

async function torrents (n: number, tag: string): Promise<FixtureTorrent[]> {
  return await Promise.all(Array.from({ length: n }, (_, i) => singleFileTorrent({ name: `${tag}-${i}.bin`, size: 20_000 + i })))
}

async function drive<T> (clock: ManualClock, promise: Promise<T>): Promise<T> {
  let done = false
  const watched = promise.finally(() => { done = true })
  while (!done) await clock.advance(10)
  return await watched
}

const enc = (x: FixtureTorrent): string => `/torrents/${x.name}.torrent`

test('feed items stating info hashes (ezRSS, nyaa, magnet): other shards\' torrents are known, not fetched', async t => {
  const server = await startSourceServer(t)
  const list = await torrents(6, 'feedhash')
  for (const x of list) server.put(`${x.name}.torrent`, x.torrentBytes)
  const mine = new Set([list[0].infoHash, list[3].infoHash])
  const items = list.map((x, i) => {
    const stated = i % 3 === 0
      ? `<torrent:infoHash>${x.infoHash.toUpperCase()}</torrent:infoHash>`
      : i % 3 === 1
        ? `<torrent:magnetURI>magnet:?dn=${x.name}&amp;xt=urn:btih:${x.infoHash}&amp;tr=http%3A%2F%2Ft</torrent:magnetURI>`
        : `<nyaa:infoHash>${x.infoHash}</nyaa:infoHash>`
    return `<item><title>${x.name}</title><enclosure url="${enc(x)}" type="application/x-bittorrent" length="${x.torrentBytes.length}"/>${stated}</item>`
  })
  server.route('/stated.rss', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/rss+xml' })
    res.end(`<?xml version="1.0"?><rss version="2.0" xmlns:torrent="http://xmlns.ezrss.it/0.1/" xmlns:nyaa="https://nyaa.si/xmlns/nyaa"><channel><title>t</title>${items.join('')}</channel></rss>`)
  })
  const clock = new ManualClock()
  const source = new RemoteSource(server.url('/stated.rss'), { cacheDir: await tmpDir(t, 'cache'), clock, wanted: h => mine.has(h) })
  t.after(() => source.close())
  const added: SourceTorrent[] = []
  const known: string[] = []
  const warnings: SourceWarning[] = []
  source.on('added', x => added.push(x))
  source.on('known', (_l, h) => known.push(h))
  source.on('warning', w => warnings.push(w))
  await source.start()
  await drive(clock, source.pollNow())
  assert.deepEqual(added.map(a => a.parsed.infoHash).sort(), [...mine].sort())
  assert.deepEqual(known.sort(), list.filter(x => !mine.has(x.infoHash)).map(x => x.infoHash).sort())
  const fetched = server.requests.filter(r => r.path.startsWith('/torrents/'))
  assert.equal(fetched.length, 2, `only this shard's torrents fetched: ${fetched.map(r => r.path).join(', ')}`)
  assert.deepEqual(warnings, [])
})

test('feed parser: a stated hash only for an item of one .torrent; hex in a URL is no statement', () => {
  const h1 = 'a'.repeat(40)
  const h2 = 'b'.repeat(40)
  const feed = `<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
    <entry><title>atom magnet</title><link rel="enclosure" type="application/x-bittorrent" href="/one.torrent"/><link rel="alternate" href="magnet:?xt=urn:btih:${h1.toUpperCase()}&amp;dn=x"/></entry>
    <entry><title>two files</title><link rel="enclosure" type="application/x-bittorrent" href="/two-a.torrent"/><link rel="enclosure" type="application/x-bittorrent" href="/two-b.torrent"/><x:infoHash xmlns:x="urn:x">${h2}</x:infoHash></entry>
    <entry><title>hex in the name</title><link rel="enclosure" type="application/x-bittorrent" href="/${h2}.torrent"/></entry>
    <entry><title>not a hash</title><link rel="enclosure" type="application/x-bittorrent" href="/bad.torrent"/><t:infoHash xmlns:t="urn:t">${h1}ff</t:infoHash></entry>
  </feed>`
  const parsed = parseFeed(new TextEncoder().encode(feed), 'http://127.0.0.1:1/feed.atom')
  assert.deepEqual(parsed.entries.map(e => [new URL(e.url).pathname, e.infoHash ?? null]), [
    ['/one.torrent', h1],
    ['/two-a.torrent', null],
    ['/two-b.torrent', null],
    [`/${h2}.torrent`, null],
    ['/bad.torrent', null]
  ])
})

test('a stated info hash that is wrong: one warning naming the URL; served under its real hash', async t => {
  const server = await startSourceServer(t)
  const [a, b] = await torrents(2, 'wrong')
  server.put(`${a.name}.torrent`, a.torrentBytes)
  server.put(`${b.name}.torrent`, b.torrentBytes)
  const wrong = 'c'.repeat(40)
  server.route('/wrong.json', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify([{ url: enc(a), infoHash: a.infoHash }, { url: enc(b), infoHash: wrong }]))
  })
  const clock = new ManualClock()
  const source = new RemoteSource(server.url('/wrong.json'), { cacheDir: await tmpDir(t, 'cache'), clock, pollIntervalMs: 1000 })
  t.after(() => source.close())
  const added: SourceTorrent[] = []
  const warnings: SourceWarning[] = []
  source.on('added', x => added.push(x))
  source.on('warning', w => warnings.push(w))
  await source.start()
  await drive(clock, source.pollNow())
  assert.deepEqual(added.map(x => x.parsed.infoHash).sort(), [a.infoHash, b.infoHash].sort())
  assert.equal(warnings.length, 1, JSON.stringify(warnings))
  assert.equal(warnings[0].code, 'WARN_SOURCE_STATED_HASH')
  assert.equal(warnings[0].location, server.url(enc(b)))
  assert.match(warnings[0].message, new RegExp(`states info hash ${wrong}, the \\.torrent's is ${b.infoHash}`))
  // The next polls revalidate both (304s): nothing said again.
  await drive(clock, source.pollNow())
  await drive(clock, source.pollNow())
  assert.equal(warnings.length, 1)
})
