// A uTP SYN flood (raw UDP datagrams crafted as ST_SYN from 200 loopback addresses, trivially
// spoofable on the internet) used to fill the shared connection limit and lock TCP leechers
// out (~52% success). Half-open uTP connections now hold at most a share of the table and are
// evicted before any TCP connection, so the TCP leecher keeps >= 99%. While SYNs hold that
// whole share, the uTP socket ignores new ones (libutp's firewall): before, every SYN became a
// native connection with a 128 KiB read buffer, answered and then evicted (23,806 of 50,000
// here; the peer kept +97 MiB of RSS after the bench's UDP flood), and uTP is served again
// once the flood stops.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { once } from 'node:events'
import { createTorrentFish, type PeerClosedEvent } from '../../src/node.ts'
import { startLeecher } from '../fixtures/leecher.ts'

import { makeTorrent } from '../fixtures/torrents.ts'
import { startFlood, runLeecher, describe } from './load.ts'

test('uTP SYN flood: TCP leechers keep >= 99% success, SYNs never displace TCP', async (t) => {
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', discovery: false, connectionLimit: 200 })
  t.after(() => fish.close())
  assert.ok(fish.utp, 'uTP is listening')
  const torrent = await makeTorrent({ name: 'syn-flood', content: new Uint8Array(50_000).fill(4) })
  const record = await fish.addTorrent(torrent.torrentBytes)
  const evictedTcp: PeerClosedEvent[] = []
  fish.on('peer-close', e => { if (e.transport === 'tcp' && e.reason === 'evicted') evictedTcp.push(e) })

  const unloaded = await runLeecher({ port: fish.port, infoHash: record.infoHash, count: 100, concurrency: 2 })
  t.diagnostic(describe('unloaded', unloaded))

  // At least 50,000 SYNs (5 s at 10 a millisecond), and on until the leecher has made 100 exchanges
  // through them (on a loaded machine 5 s can hold only a few dozen): the flood lasts as long as the leecher runs.
  const flood = await startFlood({ mode: 'utp-syn', port: fish.utp!.port, count: 200, sources: 200, doneAt: 50_000, packetsPerMs: 10 })
  t.after(() => flood.stop())
  const loaded = await runLeecher({ port: fish.port, infoHash: record.infoHash, count: 100_000, concurrency: 2, until: flood.done, minCount: 100 })
  const sent = await flood.stop()
  const stats = fish.getStats()
  const utp = stats.byTransport.utp
  t.diagnostic(describe('during the SYN flood', loaded))
  t.diagnostic(`flood: ${sent.packets} SYNs sent; uTP connections accepted ${utp?.connections ?? 0}, closes ${JSON.stringify(utp?.closes ?? {})}`)
  assert.ok(sent.packets >= 50_000, `the flood sent ${sent.packets} SYNs`)
  const share = 200 / 4
  assert.ok((utp?.connections ?? 0) >= share, 'the SYNs became uTP connections (the flood really reached the session)')
  assert.ok((utp?.connections ?? 0) <= sent.packets / 10, `while SYNs held the uTP share, new ones were ignored (${utp?.connections} of ${sent.packets} became connections)`)
  assert.ok(loaded.ok + loaded.failed >= 100, 'the leecher ran through the flood')
  assert.equal(evictedTcp.length, 0, 'no TCP connection was evicted for a SYN')
  assert.equal(stats.byTransport.tcp.closes['connection-limit'] ?? 0, 0, 'no TCP leecher was refused')
  assert.ok(loaded.rate >= 0.99, describe('during the SYN flood', loaded))

  // The flood is over (stopped above): its half-opens time out and a real uTP leecher is served again.
  const client = createRequire(import.meta.url)('utp-native')()
  t.after(() => { for (const c of [...client.connections]) c.destroy(); client.unref(); client.close() })
  const conn = client.connect(fish.utp!.port, '127.0.0.1')
  await once(conn, 'connect')
  const leecher = startLeecher(conn, record.infoHash)
  const metadata = once((leecher.wire as any).ut_metadata, 'metadata')
  ;(leecher.wire as any).ut_metadata.fetch()
  await metadata
  assert.ok(fish.torrentStats(record.infoHash).metadataServed >= 1)
  leecher.destroy()
})
