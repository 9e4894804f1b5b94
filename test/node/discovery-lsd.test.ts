/**
 * Local Service Discovery (BEP 14) inside the test network namespace: torrent-fish's batched
 * announce reaches an LSD listener (bittorrent-lsd), and a WebTorrent leecher that finds peers
 * only by LSD (no tracker, no DHT, no peer address) gets the metadata from torrent-fish and
 * completes from the web seed. A batch of many torrents leaves as datagrams of several
 * `Infohash:` headers within BEP 14's 1400 bytes. Torrents are unique per run: LSD is multicast, shared by every
 * process in the namespace.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import LSD from 'bittorrent-lsd'
import { LSD_HOST, LSD_PORT, LsdNode } from '../../src/discovery/lsd.ts'
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

test('LSD: a batch of 50 torrents leaves as datagrams of at most 24 info hashes, each within 1400 bytes', { timeout: 30_000 }, async t => {
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true })
  socket.bind(LSD_PORT)
  await waitForEvent(socket, 'listening')
  socket.addMembership(LSD_HOST)
  t.after(() => new Promise<void>(resolve => socket.close(() => resolve())))
  const node = await LsdNode.start({ peerIdHex: randomBytes(20).toString('hex'), port: () => 6881, onPeer: () => {}, onWarning: () => {} })
  t.after(() => node.close())
  const hashes = Array.from({ length: 50 }, () => randomBytes(20).toString('hex'))
  const ours = new Set(hashes)
  const datagrams: Array<{ bytes: number, hashes: string[], text: string }> = []
  const seen = new Set<string>()
  const all = new Promise<void>(resolve => {
    socket.on('message', (msg: Buffer) => {
      const found = [...msg.toString().matchAll(/^Infohash: ([0-9a-f]{40})\r$/gm)].map(m => m[1]).filter(h => ours.has(h))
      if (found.length === 0) return // another process's announce
      datagrams.push({ bytes: msg.length, hashes: found, text: msg.toString() })
      for (const h of found) seen.add(h)
      if (seen.size === hashes.length) resolve()
    })
  })
  assert.equal(node.hashesPerDatagram, 24)
  assert.deepEqual(await node.announceBatch(hashes), { peers: [] })
  await all
  assert.deepEqual(datagrams.map(d => d.hashes.length).sort((a, b) => b - a), [24, 24, 2])
  assert.ok(datagrams.every(d => d.bytes <= 1400), `datagram sizes ${datagrams.map(d => d.bytes).join(', ')}`)
  // What a LAN client makes of one: every hash in it, through bittorrent-lsd's own parser.
  const parser = new LSD({ peerId: randomBytes(20).toString('hex'), infoHash: hashes[0], port: 1 })
  const full = datagrams.find(d => d.hashes.length === 24)!
  assert.deepEqual(parser._parseAnnounce(full.text).infoHash, full.hashes)
  await new Promise<void>(resolve => parser.destroy(() => resolve()))
})
