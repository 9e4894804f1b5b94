/**
 * Tracker announces with the embedded bittorrent-tracker server (HTTP, UDP, WebSocket),
 * BEP 27 private torrents (their own tracker only: not the extra trackers, not the DHT), and
 * bad input (unreachable tracker, garbage and failure-reason answers, a private torrent with
 * no tracker): warnings with reasons, nothing else affected. Also `torrent-fish tracker`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { spawn } from 'node:child_process'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import { startEmbeddedTracker, type EmbeddedTracker } from '../../src/discovery/embedded-tracker.ts'
import type { Warning } from '../../src/core/metadata-peer.ts'
import { singleFileTorrent, makeTorrent, pseudoRandomBytes } from '../fixtures/torrents.ts'
import { BIN } from '../fixtures/cli.ts'
import { startPrivateDht, waitForEvent, dhtStoredPeers } from '../fixtures/discovery.ts'

type Result = [string, string, { ok: boolean, code?: string, message?: string }]

/** Peer ids (hex) the tracker lists in a swarm. */
function trackerPeerIds (tracker: EmbeddedTracker, infoHash: string): string[] {
  const swarm = tracker.server.torrents[infoHash]
  if (!swarm) return []
  return swarm.peers.keys.map((k: string) => swarm.peers.peek(k)?.peerId).filter(Boolean)
}

async function embedded (t: { after: (fn: () => unknown) => void }): Promise<EmbeddedTracker> {
  const tracker = await startEmbeddedTracker({ port: 0, host: '127.0.0.1', stats: false })
  t.after(() => tracker.close())
  return tracker
}

test('announces reach the embedded tracker over HTTP, UDP and WebSocket; stopped on close', { timeout: 30_000 }, async t => {
  const tracker = await embedded(t)
  const torrent = await singleFileTorrent({ name: `trk-${process.pid}.bin`, announce: [tracker.httpUrl, tracker.udpUrl, tracker.wsUrl] })
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', discovery: { scheduler: { startJitterMs: 0 } } })
  t.after(() => fish.close())
  const warnings: Warning[] = []
  fish.on('warning', w => warnings.push(w))
  const urls = [tracker.httpUrl, tracker.udpUrl, tracker.wsUrl]
  const seen = new Set<string>()
  const all = waitForEvent<Result>(fish.discovery!.scheduler, 'result', (ih, target, r) => {
    if (ih === torrent.infoHash && r.ok) seen.add(target)
    return urls.every(u => seen.has(u))
  })
  const announces: string[] = []
  tracker.server.on('start', (addr: string) => announces.push(addr))
  await fish.addTorrent(torrent.torrentBytes, { source: 'trackers-test' })
  await all
  const peerId = Buffer.from(fish.peerId).toString('hex')
  assert.ok(trackerPeerIds(tracker, torrent.infoHash).includes(peerId), 'the tracker lists torrent-fish in the swarm')
  assert.ok(announces.length >= 3, `a started announce over each protocol (${announces.length})`)
  const status = fish.discovery!.status()
  for (const url of urls) {
    const s = status.trackers.find(x => x.key === url)
    assert.equal(s?.last?.ok, true, `status reports ${url}`)
  }
  assert.deepEqual(warnings, [])

  const stopped = waitForEvent(tracker.server, 'stop')
  await fish.close()
  await stopped
})

test('a private torrent goes to its own tracker only: not to extra trackers, not to the DHT', { timeout: 30_000 }, async t => {
  const own = await embedded(t)
  const extra = await embedded(t)
  const dht = await startPrivateDht(t, 3)
  const priv = await makeTorrent({ name: `private-${process.pid}.bin`, content: pseudoRandomBytes(40_000, `p${process.pid}`), announce: [own.httpUrl], private: true })
  const pub = await singleFileTorrent({ name: `public-${process.pid}.bin`, announce: [own.httpUrl] })
  const fish = await createTorrentFish({
    port: 0,
    listenInterface: '127.0.0.1',
    allowPrivate: true,
    discovery: { dht: true, dhtBootstrap: dht.addresses, extraTrackers: [extra.httpUrl], scheduler: { startJitterMs: 0 } }
  })
  t.after(() => fish.close())
  fish.on('warning', () => {})
  const targets = new Map<string, Set<string>>()
  const done = waitForEvent<Result>(fish.discovery!.scheduler, 'result', (ih, target, r) => {
    if (r.ok) { if (!targets.has(ih)) targets.set(ih, new Set()); targets.get(ih)!.add(target) }
    // The public torrent, announced everywhere, tells us every announce round has run.
    return (targets.get(pub.infoHash)?.size ?? 0) === 3 && targets.get(priv.infoHash)?.has(own.httpUrl) === true
  })
  await fish.addTorrent(priv.torrentBytes, { source: 'private' })
  await fish.addTorrent(pub.torrentBytes, { source: 'public' })
  await done
  assert.deepEqual([...targets.get(priv.infoHash)!], [own.httpUrl])
  assert.deepEqual(fish.discovery!.torrentStatus(priv.infoHash).map(s => s.target), [own.httpUrl], 'scheduled for its own tracker only')
  const peerId = Buffer.from(fish.peerId).toString('hex')
  // Checked at the trackers and the DHT nodes themselves.
  assert.ok(trackerPeerIds(own, priv.infoHash).includes(peerId), 'its own tracker has it')
  assert.deepEqual(trackerPeerIds(extra, priv.infoHash), [], 'the extra tracker never heard of it')
  assert.ok(trackerPeerIds(extra, pub.infoHash).includes(peerId), 'control: the public torrent reached the extra tracker')
  assert.ok(dht.nodes.every(n => dhtStoredPeers(n, priv.infoHash).length === 0), 'no DHT node stores the private torrent')
  assert.ok(dht.nodes.some(n => dhtStoredPeers(n, pub.infoHash).length > 0), 'control: the public torrent is in the DHT')
})

test('bad input: unreachable tracker, garbage, failure reason, private torrent with no tracker', { timeout: 30_000 }, async t => {
  const good = await embedded(t)
  // An HTTP "tracker" answering garbage for one path and a failure reason for another.
  const bad = http.createServer((req, res) => {
    if (req.url!.startsWith('/garbage')) res.end('<html>not a tracker</html>')
    else res.end('d14:failure reason22:torrent not registerede')
  })
  await new Promise<void>(resolve => bad.listen(0, '127.0.0.1', () => resolve()))
  t.after(() => new Promise<void>(resolve => { bad.closeAllConnections(); bad.close(() => resolve()) }))
  const badPort = (bad.address() as net.AddressInfo).port
  // A port nobody listens on.
  const closed = net.createServer()
  await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', () => resolve()))
  const deadPort = (closed.address() as net.AddressInfo).port
  await new Promise<void>(resolve => closed.close(() => resolve()))

  const urls = {
    dead: `http://127.0.0.1:${deadPort}/announce`,
    garbage: `http://127.0.0.1:${badPort}/garbage/announce`,
    refused: `http://127.0.0.1:${badPort}/announce`,
    bogus: 'gopher://example.invalid/announce'
  }
  const torrent = await singleFileTorrent({ name: `bad-${process.pid}.bin`, announce: [urls.dead, urls.garbage, urls.refused, urls.bogus, good.httpUrl] })
  const lonely = await makeTorrent({ name: `lonely-${process.pid}.bin`, content: pseudoRandomBytes(1000, 'lonely'), private: true })

  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', allowPrivate: true, discovery: { scheduler: { startJitterMs: 0 } } })
  t.after(() => fish.close())
  const warnings: Warning[] = []
  fish.on('warning', w => warnings.push(w))
  const wanted = new Set([urls.dead, urls.garbage, urls.refused, good.httpUrl])
  const results = new Map<string, Result[2]>()
  const done = waitForEvent<Result>(fish.discovery!.scheduler, 'result', (ih, target, r) => {
    if (ih === torrent.infoHash) results.set(target, r)
    return [...wanted].every(u => results.has(u))
  })
  await fish.addTorrent(torrent.torrentBytes, { source: 'bad-trackers' })
  await fish.addTorrent(lonely.torrentBytes, { source: 'lonely' })
  await done
  await new Promise(resolve => setImmediate(resolve))

  assert.equal(results.get(good.httpUrl)?.ok, true, 'the good tracker is not affected')
  assert.equal(results.get(urls.dead)?.code, 'ERR_TRACKER_UNREACHABLE')
  assert.equal(results.get(urls.garbage)?.code, 'ERR_TRACKER_BAD_RESPONSE')
  assert.equal(results.get(urls.refused)?.code, 'ERR_TRACKER_FAILURE')
  const byCode = (code: string): Warning | undefined => warnings.find(w => w.code === code)
  assert.match(byCode('ERR_TRACKER_UNREACHABLE')?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${deadPort}.*fetch failed`))
  assert.match(byCode('ERR_TRACKER_BAD_RESPONSE')?.message ?? '', /garbage.*invalid response/)
  assert.match(byCode('ERR_TRACKER_FAILURE')?.message ?? '', /torrent not registered/)
  assert.match(byCode('ERR_TRACKER_UNSUPPORTED')?.message ?? '', /gopher/)
  assert.match(byCode('WARN_PRIVATE_NO_TRACKER')?.message ?? '', /BEP 27/)
  assert.ok(trackerPeerIds(good, torrent.infoHash).includes(Buffer.from(fish.peerId).toString('hex')))
  assert.equal(fish.discovery!.torrentStatus(lonely.infoHash).length, 0, 'the private torrent with no tracker is announced nowhere')
})

test('torrent-fish tracker: a standalone tracker that torrent-fish announces to', { timeout: 30_000 }, async t => {
  const child = spawn(process.execPath, [BIN, 'tracker', '-p', '0', '--host', '127.0.0.1', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  t.after(async () => { if (child.exitCode === null) child.kill('SIGKILL'); await exited })
  const line = await new Promise<any>((resolve, reject) => {
    let buf = ''
    child.stdout!.on('data', d => {
      buf += String(d)
      for (const l of buf.split('\n')) { try { const e = JSON.parse(l); if (e.event === 'tracker-listening') resolve(e) } catch {} }
    })
    child.once('exit', code => reject(new Error(`tracker exited with ${code}`)))
  })
  assert.match(line.http, /^http:\/\/127\.0\.0\.1:\d+\/announce$/)
  assert.match(line.ws, /^ws:\/\//)
  const torrent = await singleFileTorrent({ name: `cli-trk-${process.pid}.bin`, announce: [line.http, line.udp] })
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', discovery: { scheduler: { startJitterMs: 0 } } })
  t.after(() => fish.close())
  const seen = new Set<string>()
  const both = waitForEvent<Result>(fish.discovery!.scheduler, 'result', (ih, target, r) => {
    if (ih === torrent.infoHash && r.ok) seen.add(target)
    return seen.size === 2
  })
  await fish.addTorrent(torrent.torrentBytes, { source: 'cli-tracker' })
  await both
  await fish.close()
  child.kill('SIGTERM')
  assert.equal(await exited, 0)
})
