/**
 * The Node hybrid over real WebRTC: a TorrentFish with a ws tracker configured answers a real
 * WebTorrent (v3) leecher in Node (its WebRTC is node-datachannel; ours is @roamhq/wrtc). The
 * leecher has only the magnet: `xt`, `tr=` the local ws tracker, `ws=` the web seed. It gets
 * the metadata from us over a data channel and the content from the web seed, byte-identical.
 *
 * Runs inside test/run.sh's network namespace: WebRTC stacks skip loopback candidates, the
 * veth addresses (10.213.0.x) give them host candidates that stay inside it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import WebTorrent from 'webtorrent'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import type { MetadataServedEvent } from '../../src/core/metadata-peer.ts'
import { magnetFor, singleFileTorrent } from '../fixtures/torrents.ts'
import { startTestWebSeed } from '../fixtures/web-seed.ts'
import { startTracker } from '../fixtures/tracker.ts'
import { tmpDir } from '../fixtures/tmp.ts'

const ICE = { iceServers: [] }

test('hybrid TorrentFish serves a Node WebTorrent leecher over WebRTC, found through a ws tracker', async t => {
  // after() hooks run in order: peers first, then the tracker (whose close waits for its sockets).
  const tracker = await startTracker()
  const seed = await startTestWebSeed()
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', wsTrackers: [tracker.wsUrl], webrtc: { rtcConfig: ICE } })
  let client: any
  t.after(async () => {
    if (client) await new Promise<void>(resolve => client!.destroy(() => resolve()))
    await fish.close()
    await seed.close()
    await tracker.close()
  })
  assert.ok(fish.webrtcTransport, 'WebRTC is on by default')
  assert.ok(fish.listening().some(l => l.name === 'webrtc' && l.address.startsWith('ws://')), 'listening() reports the ws tracker')

  const torrent = await singleFileTorrent({ size: 300_000 })
  await seed.add(torrent)
  await fish.addTorrent(torrent.torrentBytes, { source: 'test', pin: true })
  // The announce reaches the tracker: the swarm lists us before the leecher asks.
  while (!tracker.server.torrents[torrent.infoHash]) await once(tracker.server, 'start')

  const served = once(fish, 'metadata-served') as Promise<[MetadataServedEvent]>
  const dir = await tmpDir(t, 'wt-rtc')
  client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, tracker: { rtcConfig: ICE } } as any)
  const magnet = magnetFor(torrent, { trackers: [tracker.wsUrl], webSeeds: [seed.url + encodeURIComponent(torrent.name)] })
  const started = Date.now()
  const wt = client.add(magnet, { path: dir })
  await once(wt, 'done')
  const [event] = await served
  assert.equal(event.infoHash, torrent.infoHash)
  assert.equal(event.peer.transport, 'webrtc')
  const got = await readFile(path.join(dir, torrent.name))
  assert.deepEqual(new Uint8Array(got), torrent.content[0].data)
  assert.equal(fish.getStats().byTransport.webrtc.metadataServed, 1)
  const stats = fish.webrtcTransport!.stats()
  assert.ok(stats.answersSent >= 1 && stats.connections >= 1)
  t.diagnostic(`magnet to done over WebRTC: ${Date.now() - started} ms`)
})

test('webrtc: false keeps a ws-tracker TorrentFish on TCP only', async t => {
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', wsTrackers: ['ws://10.213.0.1:9/'], webrtc: false })
  t.after(() => fish.close())
  assert.equal(fish.webrtcTransport, null)
  assert.ok(!fish.listening().some(l => l.name === 'webrtc'))
})

test('CLI: --ws-tracker turns WebRTC on, --no-webrtc off, a non-ws URL is a usage error', async t => {
  const { main } = await import('../../src/cli/main.ts')
  const lines: string[] = []
  const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) }
  const tracker = await startTracker()
  t.after(() => tracker.close())
  const base = ['-l', await tmpDir(t, 'webrtc-cli'), '-p', '0', '-i', '127.0.0.1', '--no-dht', '--no-lsd', '--json']
  for (const [extra, on] of [[[], true], [['--no-webrtc'], false]] as const) {
    let running: any
    const code = main([...base, '--ws-tracker', tracker.wsUrl, ...extra], {
      io,
      signals: false,
      onServe: fish => { running = fish; setImmediate(() => { void fish.close() }) }
    })
    assert.equal(await code, 0)
    assert.equal(running.webrtcTransport !== null, on, `webrtc ${on ? 'on' : 'off'} with ${extra.join(' ') || 'defaults'}`)
  }
  assert.equal(await main([...base, '--ws-tracker', 'http://example.org/announce'], { io, signals: false }), 2)
  assert.ok(lines.some(l => l.includes('is not a ws:// or wss:// URL')))
})
