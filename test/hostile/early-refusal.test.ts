// Refusals before anything is built. A flood that reconnects the moment it is closed (silent
// connections from 1,000 addresses in 250 /24s, 10x a 50-connection table) used to be admitted
// and evicted over and over: each connection a socket object, a session and a close. Now every
// TCP connection evicted for having done nothing charges its /24, and once a /24 has spent its
// budget the listener refuses its newcomers from the accepted handle, before Node makes a
// socket of it (src/transport/tcp-accept-gate.ts). And a handshake followed by a frame no cap
// allows is closed before a Wire is built: nothing is sent back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MetadataPeer, type PeerClosedEvent } from '../../src/index.ts'
import { listenTcp } from '../../src/transport/tcp.ts'
import { makeTorrent } from '../fixtures/torrents.ts'
import { startFlood, runLeecher, describe } from './load.ts'
import { RawPeer, handshake } from './raw-peer.ts'

async function serving (t: { after: (fn: () => unknown) => void }, connectionLimit: number) {
  const peer = new MetadataPeer({ connectionLimit })
  const torrent = await makeTorrent({ name: 'early-refusal', content: new Uint8Array(40_000).fill(3) })
  await peer.addTorrent(torrent.torrentBytes)
  const listener = await listenTcp(peer, { port: 0, host: '127.0.0.1' })
  t.after(async () => { await peer.close(); await listener.close() })
  return { peer, torrent, listener }
}

test('a /24 churning silent connections through a full table is refused before a socket exists; a correct leecher keeps >= 99%', async (t) => {
  const { peer, torrent, listener } = await serving(t, 50)
  assert.equal(listener.gated, true, `the accept gate is not installed on node ${process.version} (see test/adapters/node-net-accept.test.ts)`)
  // Flood connections that were built into a connection object (the leecher's are from
  // 127.0.0.1): what reaches the session, whether over a net.Socket or the handle itself.
  let sockets = 0
  const handle = peer.handleConnection.bind(peer)
  peer.handleConnection = (stream, info) => { if (info.remoteAddress !== '127.0.0.1') sockets++; return handle(stream, info) }
  const early: PeerClosedEvent[] = []
  peer.on('peer-close', e => { if (e.id === 0) early.push(e) })

  const flood = await startFlood({ mode: 'silent', port: listener.port, count: 500, sources: 1000, doneAt: 1000 })
  t.after(() => flood.stop())
  await flood.done // churned through 1,000 connections before the leecher measures
  const loaded = await runLeecher({ port: listener.port, infoHash: torrent.infoHash, count: 150, concurrency: 2 })
  const s = await flood.stop()
  t.diagnostic(describe('under the flood', loaded))
  t.diagnostic(`flood: ${s.connects} connections; ${sockets} were built, ${early.length} refused before`)
  assert.ok(s.connects >= 1000, `the flood churned (${s.connects})`)
  assert.ok(loaded.rate >= 0.99, describe('under the flood', loaded))
  assert.ok(early.length > 0, 'some flood connections were refused at the accepted handle')
  assert.ok(early.every(e => e.reason === 'unproductive-network' && e.op === 'accept' && e.remoteAddress !== '127.0.0.1'),
    'only flood networks are refused, with the admission reason')
  assert.ok(sockets < s.connects, `fewer built (${sockets}) than flood connections (${s.connects})`)
  assert.ok(peer.getStats().byTransport.tcp.closes['unproductive-network'] >= early.length, 'counted under their reason')
})

test('a handshake followed by a frame no cap allows is closed before a Wire exists: nothing is sent back', async (t) => {
  const { peer, torrent, listener } = await serving(t, 50)
  const closed = new Promise<PeerClosedEvent>(resolve => peer.on('peer-close', resolve))
  const raw = await RawPeer.connect(listener.port)
  const header = new Uint8Array([0x7f, 0xff, 0xff, 0xff, 20])
  raw.send(new Uint8Array([...handshake(torrent.infoHash), ...header, ...new Uint8Array(1024)]))
  const e = await closed
  await raw.closed
  assert.equal(e.reason, 'message-too-large')
  assert.equal(raw.gotHandshake, false, 'no handshake was sent back: no Wire was built')
  assert.equal(peer.getStats().peers, 0)
})
