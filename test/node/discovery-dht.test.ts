/**
 * The DHT on a private network of bittorrent-dht nodes on loopback (no public bootstrap):
 * torrent-fish announces a public torrent; a WebTorrent leecher with a magnet that names no
 * tracker and no peer (only `xt` and `ws=`) finds torrent-fish through the DHT, gets the
 * metadata from it and the content from the web seed. The node id and routing table survive
 * a restart through the state file; malformed DHT packets are warnings and change nothing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import path from 'node:path'
import { readFile } from 'node:fs/promises'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import type { MetadataServedEvent, Warning } from '../../src/core/metadata-peer.ts'
import { singleFileTorrent, magnetFor } from '../fixtures/torrents.ts'
import { startTestWebSeed } from '../fixtures/web-seed.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { startPrivateDht, leechWithWebTorrent, waitForEvent, dhtStoredPeers } from '../fixtures/discovery.ts'

test('DHT: a leecher with a tracker-less magnet finds torrent-fish through a private DHT and completes', { timeout: 90_000 }, async t => {
  const dht = await startPrivateDht(t, 4)
  const seed = await startTestWebSeed(t)
  const name = `dht-${process.pid}-${Date.now()}.bin`
  const torrent = await singleFileTorrent({ name, urlList: [seed.urlFor(name)] })
  await seed.add(torrent)
  const stateDir = await tmpDir(t, 'dht-state')

  const fish = await createTorrentFish({
    port: 0,
    listenInterface: '127.0.0.1',
    discovery: { dht: true, dhtBootstrap: dht.addresses, stateDir, scheduler: { startJitterMs: 0 } }
  })
  t.after(() => fish.close())
  const warnings: Warning[] = []
  fish.on('warning', w => warnings.push(w))
  assert.ok(fish.listening().some(l => l.name === 'dht' && l.port === fish.port), 'the DHT shares the uTP socket on the TCP port number')
  const announced = waitForEvent<[string, string, { ok: boolean }]>(fish.discovery!.scheduler, 'result', (ih, target, r) => ih === torrent.infoHash && target === 'dht' && r.ok)
  await fish.addTorrent(torrent.torrentBytes, { source: 'dht-test' })
  await announced
  assert.ok(dht.nodes.some(n => dhtStoredPeers(n, torrent.infoHash).includes(`127.0.0.1:${fish.port}`)), 'a DHT node stores torrent-fish as a peer')

  // Garbage at the DHT port: a warning (rate limited), nothing else.
  const junk = dgram.createSocket('udp4')
  t.after(() => new Promise<void>(resolve => junk.close(() => resolve())))
  const dhtWarning = waitForEvent<[Warning]>(fish, 'warning', w => w.code === 'WARN_DHT')
  for (const bytes of ['d1:ad2:id20:', 'de', 'i42e', 'd1:y1:qe']) junk.send(Buffer.from(bytes), fish.port, '127.0.0.1')
  const [w] = await dhtWarning
  assert.match(w.message, /DHT/)

  const served = waitForEvent<[MetadataServedEvent]>(fish, 'metadata-served', e => e.infoHash === torrent.infoHash)
  const magnet = magnetFor(torrent, { webSeeds: [seed.urlFor(name)] })
  assert.doesNotMatch(magnet, /tr=|x\.pe=/)
  const { wires, ms } = await leechWithWebTorrent(t, {
    client: { dht: { bootstrap: dht.addresses, host: '127.0.0.1' }, tracker: false, lsd: false, utp: false },
    magnet,
    torrent
  })
  await served
  assert.ok(wires.includes(`127.0.0.1:${fish.port}`), `the leecher connected to torrent-fish (wires: ${wires.join(', ')})`)
  assert.ok(seed.hits.size > 0, 'the content came from the web seed')
  t.diagnostic(`found through the DHT and completed in ${ms} ms`)

  // Node id and routing table are written on close and restored on the next start.
  const nodeId = fish.discovery!.dhtNode!.nodeId
  await fish.close()
  const state = JSON.parse(await readFile(path.join(stateDir, 'dht-state.json'), 'utf8'))
  assert.equal(state.nodeId, nodeId)
  assert.ok(state.nodes.length >= dht.nodes.length, `routing table saved (${state.nodes.length} nodes)`)

  const again = await createTorrentFish({
    port: 0,
    listenInterface: '127.0.0.1',
    discovery: { dht: true, dhtBootstrap: false, stateDir, scheduler: { startJitterMs: 0 } }
  })
  t.after(() => again.close())
  assert.equal(again.discovery!.dhtNode!.nodeId, nodeId, 'same node id after a restart')
  const reannounced = waitForEvent<[string, string, { ok: boolean }]>(again.discovery!.scheduler, 'result', (ih, target) => ih === torrent.infoHash && target === 'dht')
  await again.addTorrent(torrent.torrentBytes, { source: 'dht-test-restart' })
  const [, , result] = await reannounced
  assert.equal(result.ok, true, `with no bootstrap at all, the saved routing table is enough to announce: ${JSON.stringify(result)}`)
  assert.deepEqual(warnings.filter(x => x.code !== 'WARN_DHT'), [])
})
