/**
 * Acceptance: a WebTorrent client given a magnet with only `xt` and `xs=` (no peers, trackers,
 * DHT, LSD) fetches the .torrent from torrent-fish's HTTP endpoint and completes the download
 * from the web seed named in it, byte-identical. No BitTorrent connection is involved: this is
 * the path for clients that take metadata over HTTP.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import WebTorrent from 'webtorrent'
import { encode as encodeMagnet } from 'magnet-uri'
import { createTorrentFish, type TorrentFish } from '../../src/node/torrent-fish.ts'
import { composeMagnet } from '../../src/core/magnet.ts'
import { multiFileTorrent, singleFileTorrent, type FixtureTorrent } from '../fixtures/torrents.ts'
import { startTestWebSeed, type TestWebSeed } from '../fixtures/web-seed.ts'
import { tmpDir } from '../fixtures/tmp.ts'

let fish: TorrentFish
let seed: TestWebSeed

before(async () => {
  seed = await startTestWebSeed()
  fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', http: { port: 0, host: '127.0.0.1' } })
})

after(async () => {
  await fish.close()
  await seed.close()
})

async function download (t: { after: (fn: () => unknown) => void }, torrent: FixtureTorrent, magnet: string): Promise<number> {
  const dir = await tmpDir(t, 'xs')
  const client = new WebTorrent({ dht: false, lsd: false, tracker: false, utp: false, natUpnp: false, natPmp: false, utPex: false })
  t.after(() => new Promise<void>(resolve => client.destroy(() => resolve())))
  client.on('error', err => assert.fail(err))
  const started = Date.now()
  const peers: string[] = []
  await new Promise<void>((resolve, reject) => {
    const wt = client.add(magnet, { path: dir })
    wt.on('error', reject)
    wt.on('wire', (_wire: unknown, addr: string | undefined) => { if (addr) peers.push(addr) })
    wt.on('done', () => resolve())
  })
  const ms = Date.now() - started
  for (const f of torrent.content) {
    const file = torrent.multiFile ? path.join(dir, torrent.name, ...f.path.split('/')) : path.join(dir, torrent.name)
    assert.ok(Buffer.from(f.data).equals(await readFile(file)), `${f.path}: downloaded bytes differ`)
  }
  // The web seed shows up as a wire without an address; any other wire would be a peer.
  assert.deepEqual(peers, [], 'no BitTorrent peer: the metadata came over HTTP')
  return ms
}

test('WebTorrent with only xt + xs= gets the .torrent over HTTP and completes from the web seed', async t => {
  // The file's own URL: WebTorrent requests a single-file web seed URL as given, even one
  // ending in '/' (BEP 19 says to append the name; libtorrent and aria2 do).
  const torrent = await singleFileTorrent({ name: 'xs-single.bin', urlList: [`${seed.url}xs-single.bin`], size: 300 * 1024 })
  await seed.add(torrent)
  await fish.addTorrent(torrent.torrentBytes)
  t.after(() => { fish.removeTorrent(torrent.infoHash) })
  // Built by hand, not by composeMagnet: exactly xt and xs, nothing else.
  const magnet = encodeMagnet({ xt: `urn:btih:${torrent.infoHash}`, xs: `${fish.http!.url}/${torrent.infoHash}.torrent` })
  assert.doesNotMatch(magnet, /[&?](ws|tr|x\.pe|dn)=/)
  const servedBefore = fish.getStats().metadataServed
  const ms = await download(t, torrent, magnet)
  assert.equal(fish.getStats().metadataServed, servedBefore, 'no ut_metadata exchange happened')
  assert.ok([...seed.hits.keys()].includes('/xs-single.bin'), 'content came from the web seed')
  t.diagnostic(`${torrent.length} bytes via xs + web seed in ${ms} ms`)
})

test('the magnet torrent-fish composes with a public URL carries xs= and works the same (multi-file)', async t => {
  const torrent = await multiFileTorrent({ name: 'xs-multi', urlList: [seed.url] })
  await seed.add(torrent)
  const record = await fish.addTorrent(torrent.torrentBytes)
  t.after(() => { fish.removeTorrent(torrent.infoHash) })
  const full = composeMagnet(record, { torrentBaseUrl: fish.http!.url, minimal: true })
  assert.match(full, new RegExp(`xs=${encodeURIComponent(`${fish.http!.url}/${torrent.infoHash}.torrent`).replace(/[.]/g, '\\.')}`))
  // Keep xt and xs only, so the test proves the xs path rather than ws=.
  const xs = new URL(full.replace('magnet:', 'http://x/')).searchParams.get('xs')!
  await download(t, torrent, encodeMagnet({ xt: `urn:btih:${torrent.infoHash}`, xs }))
})
