// Node TCP specifics beyond the conformance suite: IPv6, many clients on one IP, the per-IP
// cap, outgoing connections (direct and through a SOCKS5 proxy), and the upload rate limit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import Wire from 'bittorrent-protocol'
import { createTorrentFish, parseTorrent, type TorrentFish } from '../../src/node.ts'
import { startLeecher, peerIdBytes } from '../fixtures/leecher.ts'
import { makeTorrent, makeLargeTorrent } from '../fixtures/memory-torrents.ts'
import { startSocks5Proxy } from '../fixtures/socks5-proxy.ts'

async function fish (t: { after: (fn: () => unknown) => void }, options: Parameters<typeof createTorrentFish>[0] = {}): Promise<TorrentFish> {
  const f = await createTorrentFish({ port: 0, ...options })
  t.after(() => f.close())
  return f
}

function connect (port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => resolve(s))
    s.once('error', reject)
  })
}

async function fetchMetadata (socket: net.Socket, infoHash: string): Promise<Uint8Array> {
  const leecher = startLeecher(socket, infoHash)
  const ext = (leecher.wire as any).ut_metadata
  try {
    return await new Promise((resolve, reject) => {
      ext.once('metadata', resolve)
      leecher.wire.once('close', () => reject(new Error('closed before metadata')))
      ext.fetch()
    })
  } finally {
    leecher.destroy()
  }
}

test('listens on IPv4 and IPv6 at once', async (t) => {
  const f = await fish(t)
  const r = await f.addTorrent(makeTorrent().torrentBytes)
  assert.ok((await fetchMetadata(await connect(f.port, '127.0.0.1'), r.infoHash)).length > 0)
  assert.ok((await fetchMetadata(await connect(f.port, '::1'), r.infoHash)).length > 0)
})

test('serves 40 concurrent clients from one IP, and caps one IP with a reason', async (t) => {
  const f = await fish(t, { perIpLimit: 40 })
  const r = await f.addTorrent(makeLargeTorrent().torrentBytes)
  const sockets = await Promise.all(Array.from({ length: 40 }, () => connect(f.port)))
  const results = await Promise.all(sockets.map(s => fetchMetadata(s, r.infoHash)))
  assert.equal(results.length, 40)
  assert.equal(f.torrentStats(r.infoHash).metadataServed, 40)

  // 40 handshaken connections hold the IP's slots (half-open ones would make room for a
  // newcomer from the same IP instead: see src/core/admission.ts).
  let ready = 0
  const allReady = new Promise<void>(resolve => f.on('peer', () => { if (++ready === 40) resolve() }))
  const held = await Promise.all(Array.from({ length: 40 }, () => connect(f.port)))
  const leechers = held.map(s => startLeecher(s, r.infoHash))
  await allReady
  const refused = new Promise(resolve => f.on('peer-close', e => { if (e.reason === 'per-ip-limit') resolve(e) }))
  const extra = await connect(f.port)
  const event: any = await refused
  assert.equal(event.op, 'accept')
  assert.equal(event.remoteAddress, '127.0.0.1')
  for (const l of leechers) l.destroy()
  for (const s of [...held, extra]) s.destroy()
})

/** A leecher that listens, as a peer learned from a tracker would. */
async function listeningLeecher (infoHash: string): Promise<{ port: number, metadata: Promise<Uint8Array>, close: () => void }> {
  let resolveMeta!: (b: Uint8Array) => void
  const metadata = new Promise<Uint8Array>(resolve => { resolveMeta = resolve })
  const server = net.createServer(socket => {
    const leecher = startLeecher(socket, infoHash)
    ;(leecher.wire as any).ut_metadata.once('metadata', (m: Uint8Array) => { resolveMeta(m); leecher.destroy() })
    ;(leecher.wire as any).ut_metadata.fetch()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as net.AddressInfo).port, metadata, close: () => server.close() }
}

test('an outgoing connection to a leecher serves it the metadata', async (t) => {
  const f = await fish(t, { listen: false })
  const r = await f.addTorrent(makeLargeTorrent().torrentBytes)
  const leecher = await listeningLeecher(r.infoHash)
  t.after(leecher.close)
  const conn = await f.dial('127.0.0.1', leecher.port, r.infoHash)
  assert.equal(conn.info.direction, 'outgoing')
  const torrent = await leecher.metadata
  assert.ok(torrent.length > r.infoSize)
})

test('outgoing connections go through the SOCKS5 proxy (-r)', async (t) => {
  const proxy = await startSocks5Proxy()
  t.after(() => proxy.close())
  const f = await fish(t, { listen: false, proxy: `127.0.0.1:${proxy.port}` })
  const r = await f.addTorrent(makeTorrent().torrentBytes)
  const leecher = await listeningLeecher(r.infoHash)
  t.after(leecher.close)
  await f.dial('127.0.0.1', leecher.port, r.infoHash)
  await leecher.metadata
  assert.deepEqual(proxy.connects, [`127.0.0.1:${leecher.port}`])
})

test('an outgoing connection answered with another info hash is closed with a reason', async (t) => {
  const f = await fish(t, { listen: false })
  const r = await f.addTorrent(makeTorrent().torrentBytes)
  const other = await parseTorrent(makeTorrent().torrentBytes)
  const server = net.createServer(socket => {
    const wire = new Wire()
    socket.pipe(wire as any).pipe(socket)
    wire.handshake(other.infoHash, peerIdBytes(), {})
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  const closed = new Promise<any>(resolve => f.on('peer-close', resolve))
  await f.dial('127.0.0.1', (server.address() as net.AddressInfo).port, r.infoHash)
  const e = await closed
  assert.equal(e.reason, 'infohash-mismatch')
})

test('the upload rate limit paces the metadata bytes we send', async (t) => {
  // ~200 KB of info dict at 100 kB/s with a one-second burst cannot arrive in under ~1 s.
  const rate = 100_000
  const f = await fish(t, { uploadRateLimit: rate })
  const r = await f.addTorrent(makeTorrent({ pieces: 10_000 }).torrentBytes)
  const started = performance.now()
  await fetchMetadata(await connect(f.port), r.infoHash)
  const elapsed = (performance.now() - started) / 1000
  const floor = (r.infoSize - rate) / rate
  assert.ok(elapsed >= floor * 0.9, `took ${elapsed.toFixed(2)} s, limit implies at least ${floor.toFixed(2)} s`)

  const free = await fish(t)
  const r2 = await free.addTorrent(makeTorrent({ pieces: 10_000 }).torrentBytes)
  const s2 = performance.now()
  await fetchMetadata(await connect(free.port), r2.infoHash)
  assert.ok((performance.now() - s2) / 1000 < floor, 'unlimited is faster than the limited floor')
})
