/**
 * The status page at `/`: torrents with name, size, magnet (with `xs=` when a public URL is
 * set) and copy button; hostile names escaped; a strict CSP with a nonce; paging and search
 * over many torrents; the public URL's path accepted as a prefix (reverse proxies).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import { makeTorrent, pseudoRandomBytes, singleFileTorrent } from '../fixtures/torrents.ts'

test('lists torrents with escaped names, magnets with xs=, counters and a nonce-only CSP', async t => {
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', http: { port: 0, host: '127.0.0.1', publicUrl: 'https://tf.example/prefix/' } })
  t.after(() => fish.close())
  const evil = await makeTorrent({ name: '<script>alert(1)</script>"&\'.bin', content: pseudoRandomBytes(3 * 1024 * 1024, 'evil'), urlList: ['http://seed.example/"><b>x'], pieceLength: 1024 * 1024 })
  const plain = await singleFileTorrent({ name: 'plain.bin' })
  await fish.addTorrent(evil.torrentBytes)
  await fish.addTorrent(plain.torrentBytes)

  const res = await fetch(`${fish.http!.url}/`)
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
  const csp = res.headers.get('content-security-policy') ?? ''
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1]
  assert.ok(nonce, csp)
  assert.match(csp, /default-src 'none'/)
  const html = await res.text()
  assert.ok(!html.includes('<script>alert'), 'name is escaped')
  assert.ok(!html.includes('"><b>x'), 'web seed URL is escaped')
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;&#39;.bin'))
  // Every script and style element carries the nonce.
  for (const tag of html.match(/<(script|style)\b[^>]*>/g) ?? []) assert.ok(tag.includes(`nonce="${nonce}"`), tag)
  assert.match(html, /3\.00 MiB/)
  assert.match(html, /data-copy/)
  // Magnets link to the .torrent endpoint under the public URL.
  const xs = encodeURIComponent(`https://tf.example/prefix/${plain.infoHash}.torrent`)
  assert.ok(html.includes(`xs=${xs}`), 'magnet carries xs=')
  assert.ok(html.includes(`href="/prefix/${plain.infoHash}.torrent"`))
  assert.match(html, /Torrents<b>2<\/b>/)

  // Behind a reverse proxy that keeps the prefix, the same routes answer.
  const prefixed = await fetch(`${fish.http!.url}/prefix/${plain.infoHash}.torrent`)
  assert.equal(prefixed.status, 200)
  assert.ok(Buffer.from(await prefixed.arrayBuffer()).equals(Buffer.from(plain.torrentBytes)))
  assert.equal((await fetch(`${fish.http!.url}/prefix/health`)).status, 200)
})

test('pages and searches 2,000 torrents; a page stays small and fast', async t => {
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', listen: false, http: { port: 0, host: '127.0.0.1', pageSize: 25 } })
  t.after(() => fish.close())
  const one = await singleFileTorrent({ name: 'base.bin', size: 20_000 })
  // Same content, different info dicts (a `source` key), so 2,000 distinct hashes cheaply.
  for (let i = 0; i < 2000; i++) {
    const t2 = await makeTorrent({ name: `item-${String(i).padStart(4, '0')}.bin`, content: one.content[0].data, info: { source: `n${i}` } })
    await fish.addTorrent(t2.torrentBytes)
  }
  const started = Date.now()
  const first = await (await fetch(`${fish.http!.url}/`)).text()
  const ms = Date.now() - started
  assert.equal((first.match(/<tr>/g) ?? []).length - 1, 25, 'one page of rows (plus the header row)')
  assert.match(first, /1&ndash;25 of 2000/)
  assert.match(first, /href="\/\?page=2">next/)
  const last = await (await fetch(`${fish.http!.url}/?page=80`)).text()
  assert.match(last, /1976&ndash;2000 of 2000/)
  assert.ok(!last.includes('next &rarr;'))
  const beyond = await (await fetch(`${fish.http!.url}/?page=999999`)).text()
  assert.match(beyond, /of 2000/)
  const search = await (await fetch(`${fish.http!.url}/?q=item-019`)).text()
  assert.match(search, /1&ndash;10 of 10 matching/)
  assert.ok(search.includes('item-0195.bin'))
  t.diagnostic(`first page of 2000 torrents in ${ms} ms, ${first.length} bytes`)
  assert.ok(first.length < 100_000)
})
