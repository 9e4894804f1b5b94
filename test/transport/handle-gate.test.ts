// The TCP listener's accept gate (src/transport/tcp-accept-gate.ts) on real loopback sockets
// from several 127.x addresses: a connection admission refuses is closed from the accepted
// handle, never a 'connection' and never a socket; admitted ones do a whole BEP 9 exchange;
// without the gate (a Node whose internals moved) the same refusal happens after the socket
// exists, with the same reason. And the order of building: while connections queue up, a
// network served before is built ahead of the never-served ones queued before it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { spawnSync } from 'node:child_process'
import { MetadataPeer, type PeerClosedEvent } from '../../src/index.ts'
import { listenTcp } from '../../src/transport/tcp.ts'
import { gateAccepts } from '../../src/transport/tcp-accept-gate.ts'
import { fetchMetadata } from '../../bench/bep9-client.ts'
import { makeTorrent } from '../fixtures/torrents.ts'

/** A four-connection table where a never-served /24 may hold one idle connection once it is half full. */
async function serving (t: { after: (fn: () => unknown) => void }, acceptGate: boolean) {
  const peer = new MetadataPeer({ connectionLimit: 4, admission: { idlePerNewSubnet: 1 } })
  const torrent = await makeTorrent({ name: 'handle-gate', content: new Uint8Array(70_000).fill(7) })
  await peer.addTorrent(torrent.torrentBytes)
  const listener = await listenTcp(peer, { port: 0, host: '127.0.0.1', acceptGate })
  const clients: net.Socket[] = []
  t.after(async () => { for (const c of clients) c.destroy(); await peer.close(); await listener.close() })
  // Remote address of every connection built for the session (over a net.Socket, or served
  // from the accepted handle itself), and of every net.Socket Node built.
  const built: string[] = []
  const handle = peer.handleConnection.bind(peer)
  peer.handleConnection = (stream, info) => { built.push(info.remoteAddress!); const c = handle(stream, info); connected(); return c }
  let connected = (): void => {}
  const sockets: string[] = []
  listener.server.on('connection', s => sockets.push(s.remoteAddress!.replace(/^::ffff:/, '')))
  const nextBuilt = (): Promise<void> => new Promise(resolve => { connected = resolve })
  const closes: PeerClosedEvent[] = []
  peer.on('peer-close', e => closes.push(e))
  /** A connection that sends nothing, from `localAddress`; resolves once the peer built it. */
  const silent = async (localAddress: string): Promise<void> => {
    const n = built.length
    const c = net.connect({ port: listener.port, host: '127.0.0.1', localAddress })
    c.on('error', () => {})
    clients.push(c)
    while (built.length === n) await nextBuilt()
  }
  /** A connection the peer closes; resolves when it did. */
  const closedByPeer = async (localAddress: string): Promise<void> => {
    const c = net.connect({ port: listener.port, host: '127.0.0.1', localAddress })
    c.on('error', () => {})
    clients.push(c)
    await once(c, 'close')
  }
  const fetch = (localAddress: string) => fetchMetadata({ host: '127.0.0.1', port: listener.port, infoHash: torrent.infoHash, timeoutMs: 5000, localAddress })
  return { peer, torrent, listener, built, sockets, closes, silent, closedByPeer, fetch }
}

test('gate: a refused network is closed without a socket; admitted ones from other /24s get their metadata', async (t) => {
  const s = await serving(t, true)
  assert.equal(s.listener.gated, true, `the accept gate is not installed on node ${process.version} (see test/adapters/node-net-accept.test.ts)`)
  await s.silent('127.0.5.1')
  await s.silent('127.0.6.1') // the table is half full: 127.0.5.0/24 holds its one idle connection
  await s.closedByPeer('127.0.5.2')
  assert.deepEqual(s.built, ['127.0.5.1', '127.0.6.1'], 'the refused connection never became a socket')
  const early = s.closes.filter(e => e.id === 0)
  assert.equal(early.length, 1)
  assert.equal(early[0].reason, 'unknown-network')
  assert.equal(early[0].remoteAddress, '127.0.5.2')
  assert.equal(s.peer.getStats().byTransport.tcp.closes['unknown-network'], 1, 'counted under its reason')

  const sizes = await Promise.all([s.fetch('127.0.7.1'), s.fetch('127.0.8.1')])
  for (const size of sizes) assert.ok(size > 0)
  assert.ok(s.built.includes('127.0.7.1') && s.built.includes('127.0.8.1'))
  // Served from the accepted handles (adapters/node-tcp-handle.ts): Node built no socket at all.
  assert.equal(s.listener.handleStreams, true, `accepted handles are not served directly on node ${process.version} (see test/adapters/node-tcp-handle.test.ts)`)
  assert.deepEqual(s.sockets, [])
})

test('without the gate: the same refusal after the socket is built, with the same reason; admitted ones still work', async (t) => {
  const s = await serving(t, false)
  assert.equal(s.listener.gated, false)
  await s.silent('127.0.5.1')
  await s.silent('127.0.6.1')
  await s.closedByPeer('127.0.5.2')
  assert.deepEqual(s.built, ['127.0.5.1', '127.0.6.1', '127.0.5.2'], 'the refused connection got a socket first')
  assert.deepEqual(s.sockets, s.built, 'each of them a net.Socket')
  const refused = s.closes.filter(e => e.remoteAddress === '127.0.5.2')
  assert.equal(refused.length, 1)
  assert.equal(refused[0].reason, 'unknown-network')
  assert.notEqual(refused[0].id, 0, 'refused by the session, not at the handle')
  assert.equal(s.peer.getStats().byTransport.tcp.closes['unknown-network'], 1)
  assert.ok(await s.fetch('127.0.7.1') > 0)
})

// Connects `count` sockets from 127.0.8.1.. and then one from 127.0.9.1, each after the one
// before completed, while this process is blocked in spawnSync: all of them wait in the kernel's
// accept queue in that order when the event loop resumes.
const QUEUE_IN_ORDER = `
const net = require('node:net')
const [port, count] = process.argv.slice(1).map(Number)
const open = a => new Promise((resolve, reject) => { const s = net.connect({ port, host: '127.0.0.1', localAddress: a }, () => resolve(s)); s.on('error', reject) })
;(async () => { for (let i = 1; i <= count; i++) await open('127.0.8.' + i); await open('127.0.9.1'); process.exit(0) })().catch(e => { console.error(e); process.exit(1) })
`

test('order: while connections queue up, a network named first is built ahead of the never-served ones queued before it; every one is built', async (t) => {
  const server = net.createServer(s => { order.push(s.remoteAddress!.replace(/^::ffff:/, '')); s.destroy() })
  const order: string[] = []
  server.listen({ port: 0, host: '127.0.0.1', backlog: 512 })
  await once(server, 'listening')
  t.after(() => server.close())
  assert.equal(gateAccepts(server, () => false, { first: address => address === '127.0.9.1' }), true)
  const count = 30
  const child = spawnSync(process.execPath, ['-e', QUEUE_IN_ORDER, String((server.address() as net.AddressInfo).port), String(count)], { encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  while (order.length < count + 1) await once(server, 'connection')
  // Node accepts one connection a turn: the first of the queue is built at once (nothing was
  // queued before it), the ones after it are held until 127.0.9.1's turn has come and gone.
  assert.ok(order.indexOf('127.0.9.1') <= 1, `built in the order ${order.join(' ')}`)
  assert.equal(new Set(order).size, count + 1)
})

test('order: held connections are asked again when built; one refused by then is closed without a socket', async (t) => {
  let refuseHeld = false
  let refusedHeld = 0
  let allRefused: () => void = () => {}
  const done = new Promise<void>(resolve => { allRefused = resolve })
  const built: string[] = []
  const server = net.createServer(s => { built.push(s.remoteAddress!.replace(/^::ffff:/, '')); s.destroy() })
  server.listen({ port: 0, host: '127.0.0.1', backlog: 512 })
  await once(server, 'listening')
  t.after(() => server.close())
  const count = 10
  // Once 127.0.9.1 was built, the 127.0.8.x connections still held are refused.
  gateAccepts(server, address => {
    const refuse = refuseHeld && address.startsWith('127.0.8.')
    if (refuse && ++refusedHeld === count - 1) allRefused()
    return refuse
  }, { first: address => address === '127.0.9.1' })
  server.on('connection', s => { if (s.remoteAddress!.endsWith('127.0.9.1')) refuseHeld = true })
  const child = spawnSync(process.execPath, ['-e', QUEUE_IN_ORDER, String((server.address() as net.AddressInfo).port), String(count)], { encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  await done // every held connection (all but the first of the queue) was asked again and refused
  assert.deepEqual(built, ['127.0.8.1', '127.0.9.1'], 'only the first of the queue and 127.0.9.1 became sockets')
})
