/**
 * End to end with a real WebTorrent (v3) leecher in Node: given only a magnet (info hash,
 * `ws=` web seed, `x.pe=` our address) it gets the metadata from a TorrentFish and the content
 * from the web seed, byte-identical. torrent-fish must send metadata and nothing else.
 *
 * The leecher has DHT, LSD, trackers and NAT traversal off so the only peer it can find is the
 * one in `x.pe`. uTP is off in most cases so they test TCP (WebTorrent tries uTP first, and
 * without a uTP listener on our side it waits ~40 s for that to time out, see RECIPES); the last
 * case turns it on and checks the connection came over torrent-fish's uTP listener.
 *
 * WebTorrent 3 runs the MSE/PE handshake on outgoing TCP by default (`secure: 1`), so every
 * test here also proves our encrypted incoming path; one test forces RC4 (`secure: 2`).
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import WebTorrent from 'webtorrent'
import { TorrentFish, createTorrentFish } from '../../src/node/torrent-fish.ts'
import { METADATA_PIECE_SIZE } from '../../src/core/constants.ts'
import type { MetadataServedEvent } from '../../src/core/metadata-peer.ts'
import {
  bigInfoTorrent, magnetFor, multiFileTorrent, singleFileTorrent, unsortedInfoTorrent, type FixtureTorrent
} from '../fixtures/torrents.ts'
import { startTestWebSeed, type TestWebSeed } from '../fixtures/web-seed.ts'
import { tmpDir } from '../fixtures/tmp.ts'

let fish: TorrentFish
let seed: TestWebSeed

before(async () => {
  seed = await startTestWebSeed()
  // No discovery: the leecher gets our address from x.pe, and tests never announce anywhere.
  fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', discovery: false } as Parameters<typeof createTorrentFish>[0])
})

after(async () => {
  await fish.close()
  await seed.close()
})

interface LeechResult {
  /** Wire from the leecher to torrent-fish. */
  ourWire: any
  piecesFromUs: number
  served: MetadataServedEvent
  ms: number
}

/** Adds `torrent` to the fish and the seed, then downloads it with a fresh WebTorrent client. */
async function leech (t: { after: (fn: () => unknown) => void }, torrent: FixtureTorrent, { secure = 1, utp = false } = {}): Promise<LeechResult> {
  await seed.add(torrent)
  const record = await fish.addTorrent(torrent.torrentBytes, { source: `test:${torrent.name}` })
  t.after(() => { fish.removeTorrent(record.infoHash) })
  assert.equal(record.infoHash, torrent.infoHash)
  // Built independently of composeMagnet (src/core/magnet.ts) so this test checks the peer, not
  // our own magnet code: xt, the web seed and our address, nothing else.
  const magnet = magnetFor(torrent, { webSeeds: [seed.urlFor(torrent.name, torrent.multiFile)], peers: [`127.0.0.1:${fish.port}`] })

  const dir = await tmpDir(t, 'webtorrent')
  const client = new WebTorrent({ dht: false, lsd: false, tracker: false, utp, natUpnp: false, natPmp: false, secure })
  t.after(() => new Promise<void>(resolve => client.destroy(() => resolve())))
  client.on('error', err => assert.fail(err))

  const served = new Promise<MetadataServedEvent>(resolve => {
    const on = (e: MetadataServedEvent): void => {
      if (e.infoHash === torrent.infoHash) { fish.off('metadata-served', on); resolve(e) }
    }
    fish.on('metadata-served', on)
  })
  const started = Date.now()
  let ourWire: any = null
  let piecesFromUs = 0
  await new Promise<void>((resolve, reject) => {
    const wt = client.add(magnet, { path: dir })
    wt.on('error', reject)
    wt.on('wire', (wire: any, addr: string) => {
      if (addr !== `127.0.0.1:${fish.port}`) return
      ourWire = wire
      wire.on('piece', () => { piecesFromUs += 1 })
    })
    wt.on('done', () => resolve())
  })
  const ms = Date.now() - started

  // Byte-identical content on disk.
  for (const f of torrent.content) {
    const file = torrent.multiFile ? path.join(dir, torrent.name, ...f.path.split('/')) : path.join(dir, torrent.name)
    const got = await readFile(file)
    assert.ok(Buffer.from(f.data).equals(got), `${f.path}: downloaded bytes differ (${got.length} vs ${f.data.length})`)
  }
  assert.ok(ourWire, 'the leecher connected to torrent-fish')
  return { ourWire, piecesFromUs, served: await served, ms }
}

/** Everything torrent-fish sent was metadata: no piece messages, no piece bytes. */
function assertMetadataOnly (torrent: FixtureTorrent, r: LeechResult, transport = 'tcp'): void {
  assert.equal(r.piecesFromUs, 0, 'torrent-fish sent piece messages')
  assert.equal(r.ourWire.downloaded, 0, 'the leecher downloaded piece bytes from torrent-fish')
  assert.equal(r.ourWire._cryptoHandshakeDone, true, 'the connection ran the MSE handshake')
  assert.equal(r.served.infoHash, torrent.infoHash)
  assert.equal(r.served.peer.transport, transport)
  const counters = fish.torrentStats(torrent.infoHash)
  const pieces = Math.ceil(torrent.infoBytes.length / METADATA_PIECE_SIZE)
  assert.equal(counters.metadataServed, 1)
  assert.equal(counters.metadataPiecesServed, pieces)
  assert.equal(counters.bytesServed, torrent.infoBytes.length, 'bytes sent are exactly the info dict')
  assert.equal(seed.hits.size > 0, true, 'the content came from the web seed')
}

test('WebTorrent gets the metadata of a single-file torrent from torrent-fish, content from the web seed', { timeout: 60_000 }, async t => {
  const torrent = await singleFileTorrent({ name: 'e2e-single.bin', urlList: [seed.urlFor('e2e-single.bin')] })
  const r = await leech(t, torrent)
  assertMetadataOnly(torrent, r)
  t.diagnostic(`single file, ${torrent.length} bytes, info ${torrent.infoBytes.length} bytes: ${r.ms} ms`)
})

test('WebTorrent: info dict > 16 KiB (several metadata pieces)', { timeout: 60_000 }, async t => {
  const torrent = await bigInfoTorrent({ name: 'e2e-big-info', urlList: [seed.url] })
  assert.ok(torrent.infoBytes.length > 2 * METADATA_PIECE_SIZE)
  const r = await leech(t, torrent)
  assertMetadataOnly(torrent, r)
  t.diagnostic(`${torrent.content.length} files, info ${torrent.infoBytes.length} bytes: ${r.ms} ms`)
})

test('WebTorrent: multi-file torrent in nested folders', { timeout: 60_000 }, async t => {
  const torrent = await multiFileTorrent({ name: 'e2e-multi', urlList: [seed.url], fileCount: 7 })
  const r = await leech(t, torrent)
  assertMetadataOnly(torrent, r)
  t.diagnostic(`${torrent.content.length} files, ${torrent.length} bytes: ${r.ms} ms`)
})

test('WebTorrent: info dict with unsorted keys is served as its exact bytes', { timeout: 60_000 }, async t => {
  const torrent = await unsortedInfoTorrent({ name: 'e2e-unsorted.bin', urlList: [seed.urlFor('e2e-unsorted.bin')] })
  const r = await leech(t, torrent)
  assertMetadataOnly(torrent, r)
})

test('WebTorrent with RC4-only encryption (secure: 2)', { timeout: 60_000 }, async t => {
  const torrent = await singleFileTorrent({ name: 'e2e-rc4.bin', urlList: [seed.urlFor('e2e-rc4.bin')], seed: 'rc4' })
  const r = await leech(t, torrent, { secure: 2 })
  assertMetadataOnly(torrent, r)
  assert.equal(r.ourWire._encryptionMethod, 2, 'RC4 was negotiated')
})

test('WebTorrent over uTP (its first choice when enabled)', { timeout: 60_000 }, async t => {
  assert.ok(fish.listening().some(l => l.name === 'utp'), 'torrent-fish listens on uTP')
  const torrent = await singleFileTorrent({ name: 'e2e-utp.bin', urlList: [seed.urlFor('e2e-utp.bin')], seed: 'utp' })
  const r = await leech(t, torrent, { utp: true })
  assertMetadataOnly(torrent, r, 'utp')
  t.diagnostic(`uTP: ${r.ms} ms`)
})
