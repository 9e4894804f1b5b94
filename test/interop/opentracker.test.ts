/**
 * torrent-fish found through a real tracker: Debian's opentracker, over HTTP and over UDP.
 * torrent-fish announces the torrent to the tracker its .torrent names; a WebTorrent leecher
 * given a magnet with only `xt`, `tr=` (that tracker) and `ws=` (the web seed), no peer
 * address, finds torrent-fish through the tracker, gets the metadata from it and the content
 * from the web seed. opentracker also answers other info hashes with a failure reason, which
 * torrent-fish reports as a warning without disturbing anything else.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import type { MetadataServedEvent, Warning } from '../../src/core/metadata-peer.ts'
import { singleFileTorrent, magnetFor } from '../fixtures/torrents.ts'
import { startTestWebSeed } from '../fixtures/web-seed.ts'
import { startOpenTracker, leechWithWebTorrent, waitForEvent } from '../fixtures/discovery.ts'

for (const scheme of ['http', 'udp'] as const) {
  test(`opentracker over ${scheme.toUpperCase()}: a leecher with a tr=-only magnet finds torrent-fish and completes`, { timeout: 90_000 }, async t => {
    const seed = await startTestWebSeed(t)
    const name = `ot-${scheme}-${process.pid}-${Date.now()}.bin`
    // The info hash does not depend on the tracker list, so make the torrent once to learn it
    // (for the tracker's whitelist), then again naming the tracker.
    const probe = await singleFileTorrent({ name, urlList: [seed.urlFor(name)] })
    const refused = await singleFileTorrent({ name: `${name}.other`, urlList: [seed.urlFor(`${name}.other`)] })
    const ot = await startOpenTracker(t, [probe.infoHash])
    const url = scheme === 'http' ? ot.httpUrl : ot.udpUrl
    const torrent = await singleFileTorrent({ name, urlList: [seed.urlFor(name)], announce: [url] })
    const notListed = await singleFileTorrent({ name: `${name}.other`, urlList: [seed.urlFor(`${name}.other`)], announce: [url] })
    assert.equal(torrent.infoHash, probe.infoHash)
    assert.equal(notListed.infoHash, refused.infoHash)
    await seed.add(torrent)

    const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', discovery: { scheduler: { startJitterMs: 0 } } })
    t.after(() => fish.close())
    const warnings: Warning[] = []
    fish.on('warning', w => warnings.push(w))
    const announced = waitForEvent<[string, string, { ok: boolean }]>(fish.discovery!.scheduler, 'result', (ih, target, r) => ih === torrent.infoHash && target === url && r.ok)
    const refusal = waitForEvent<[string, string, { ok: boolean, code?: string }]>(fish.discovery!.scheduler, 'result', (ih, target) => ih === notListed.infoHash && target === url)
    await fish.addTorrent(torrent.torrentBytes, { source: 'opentracker-test' })
    await fish.addTorrent(notListed.torrentBytes, { source: 'opentracker-test-not-listed' })
    await announced
    const [, , refusedResult] = await refusal
    assert.equal(refusedResult.ok, false)
    // Over HTTP opentracker gives a failure reason; over UDP a bare 8-byte reply. Either concerns
    // that torrent only (the tracker is not paused).
    assert.equal(refusedResult.code, scheme === 'http' ? 'ERR_TRACKER_FAILURE' : 'ERR_TRACKER_BAD_RESPONSE', JSON.stringify(refusedResult))

    const served = waitForEvent<[MetadataServedEvent]>(fish, 'metadata-served', e => e.infoHash === torrent.infoHash)
    const magnet = magnetFor(torrent, { trackers: [url], webSeeds: [seed.urlFor(name)] })
    assert.doesNotMatch(magnet, /x\.pe=/)
    const { wires, ms } = await leechWithWebTorrent(t, {
      client: { dht: false, lsd: false, utp: false, tracker: true },
      magnet,
      torrent
    })
    const [event] = await served
    assert.equal(event.peer.transport, 'tcp')
    assert.ok(wires.includes(`127.0.0.1:${fish.port}`), `the leecher connected to torrent-fish (wires: ${wires.join(', ')})`)
    assert.ok(seed.hits.size > 0, 'the content came from the web seed')

    // The refusal was reported with the tracker's reason, and only for that torrent.
    await new Promise(resolve => setImmediate(resolve))
    const refusalWarning = warnings.find(w => w.infoHash === notListed.infoHash)
    assert.ok(refusalWarning, 'the refusal is a warning')
    assert.match(refusalWarning.message, scheme === 'http' ? /not authorized/ : /invalid announce message/)
    assert.equal(warnings.filter(w => w.infoHash === torrent.infoHash).length, 0)
    t.diagnostic(`${scheme}: announce + leech in ${ms} ms`)
  })
}
