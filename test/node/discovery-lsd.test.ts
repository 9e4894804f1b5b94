/**
 * Local Service Discovery (BEP 14) inside the test network namespace: torrent-fish's batched
 * announce reaches an LSD listener (bittorrent-lsd), and a WebTorrent leecher that finds peers
 * only by LSD (no tracker, no DHT, no peer address) gets the metadata from torrent-fish and
 * completes from the web seed. Torrents are unique per run: LSD is multicast, shared by every
 * process in the namespace.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import LSD from 'bittorrent-lsd'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import type { MetadataServedEvent } from '../../src/core/metadata-peer.ts'
import { singleFileTorrent, magnetFor } from '../fixtures/torrents.ts'
import { startTestWebSeed } from '../fixtures/web-seed.ts'
import { leechWithWebTorrent, waitForEvent } from '../fixtures/discovery.ts'

test('LSD: torrent-fish announces on the LAN and a WebTorrent leecher finds it by LSD alone', { timeout: 60_000 }, async t => {
  const seed = await startTestWebSeed(t)
  const name = `lsd-${process.pid}-${randomBytes(4).toString('hex')}.bin`
  const torrent = await singleFileTorrent({ name, urlList: [seed.urlFor(name)], seed: name })
  await seed.add(torrent)

  // A LAN client listening for announces of this torrent.
  const listener = new LSD({ peerId: randomBytes(20).toString('hex'), infoHash: torrent.infoHash, port: 1 })
  listener.on('warning', () => {})
  listener.server.bind(6771)
  await waitForEvent(listener.server, 'listening')
  t.after(() => new Promise<void>(resolve => listener.destroy(() => resolve())))

  const fish = await createTorrentFish({ port: 0, discovery: { lsd: true, scheduler: { startJitterMs: 0 } } })
  t.after(() => fish.close())
  const heard = waitForEvent<[string, string]>(listener, 'peer', (addr, infoHash) => infoHash === torrent.infoHash && addr.endsWith(`:${fish.port}`))
  await fish.addTorrent(torrent.torrentBytes, { source: 'lsd-test' })
  const [addr] = await heard
  t.diagnostic(`LSD announce heard from ${addr}`)

  const served = waitForEvent<[MetadataServedEvent]>(fish, 'metadata-served', e => e.infoHash === torrent.infoHash)
  const { ms } = await leechWithWebTorrent(t, {
    client: { dht: false, tracker: false, lsd: true, utp: false },
    magnet: magnetFor(torrent, { webSeeds: [seed.urlFor(name)] }),
    torrent
  })
  const [event] = await served
  assert.equal(event.infoHash, torrent.infoHash)
  assert.ok(seed.hits.size > 0, 'the content came from the web seed')
  t.diagnostic(`found by LSD (${event.peer.direction} connection) and completed in ${ms} ms`)
})
