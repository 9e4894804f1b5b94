/**
 * The transport contract: TCP, uTP, memory and the WebRTC answer pool all have the same
 * lifecycle (start, listening(), close) and dial shape; the one dial policy tries them in
 * order, falls back on failure, does not fall back behind a proxy, and honours an AbortSignal.
 * Real transports on loopback (a TCP port nobody listens on is a real refused connect).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { MetadataPeer } from '../../src/core/metadata-peer.ts'
import { TcpTransport } from '../../src/transport/tcp-transport.ts'
import { UtpTransport } from '../../src/transport/utp-transport.ts'
import { MemoryTransport } from '../../src/transport/memory-transport.ts'
import { WebRtcAnswerPool } from '../../src/transport/webrtc-answer-pool.ts'
import { dialPolicy } from '../../src/transport/dial-policy.ts'
import type { Transport } from '../../src/transport/transport.ts'
import { startLeecher } from '../fixtures/leecher.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'

async function closedPort (): Promise<number> {
  const s = net.createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>(resolve => s.close(() => resolve()))
  return port
}

test('every transport has the same lifecycle: start, listening(), canDial, dial, close', async t => {
  const session = new MetadataPeer()
  t.after(() => session.close())
  const tcp = new TcpTransport(session, { port: 0, host: '127.0.0.1' })
  const utp = new UtpTransport(session, { port: () => tcp.port, host: '127.0.0.1' })
  const memory = new MemoryTransport(session)
  const webrtc = new WebRtcAnswerPool(session, async () => new Error('not needed here'))
  const all: Transport[] = [tcp, utp, memory, webrtc]
  for (const x of all) {
    for (const m of ['start', 'close', 'listening', 'canDial', 'dial'] as const) assert.equal(typeof x[m], 'function', `${x.name}.${m}`)
    await x.start()
  }
  assert.deepEqual(all.map(x => x.name), ['tcp', 'utp', 'memory', 'webrtc'])
  assert.deepEqual(tcp.listening(), [{ name: 'tcp', address: '127.0.0.1', port: tcp.port }])
  assert.deepEqual(utp.listening(), [{ name: 'utp', address: '127.0.0.1', port: tcp.port }], 'uTP on the TCP port number')
  assert.equal(utp.canDial('::1'), false, 'uTP is IPv4 only')
  assert.equal(webrtc.canDial(), false)
  await assert.rejects(webrtc.dial({ host: 'x', port: 1, infoHash: 'a'.repeat(40) }), (e: { code?: string }) => e.code === 'ERR_TRANSPORT_UNAVAILABLE')
  for (const x of [...all].reverse()) await x.close()
  assert.deepEqual([...tcp.listening(), ...utp.listening(), ...memory.listening()], [], 'nothing listens after close')
})

test('dial policy: in order, falling back when a transport fails; no fallback behind a proxy; abortable', async t => {
  const session = new MetadataPeer()
  t.after(() => session.close())
  const torrent = makeTorrent()
  const record = await session.addTorrent(torrent.torrentBytes)
  const tcp = new TcpTransport(session, { port: 0, host: '127.0.0.1', listen: false })
  const accepted: string[] = []
  const memory = new MemoryTransport(session, (stream, address) => {
    accepted.push(`${address.host}:${address.port}`)
    startLeecher(stream, address.infoHash)
  })
  const port = await closedPort()
  const address = { host: '127.0.0.1', port, infoHash: record.infoHash }

  const conn = await dialPolicy(() => [tcp, memory])(address)
  assert.equal(conn.info.transport, 'memory', 'TCP was refused, the next transport carried the dial')
  assert.equal(conn.info.direction, 'outgoing')
  assert.deepEqual(accepted, [`127.0.0.1:${port}`])

  await assert.rejects(dialPolicy(() => [tcp, memory], { proxied: true })(address), /ECONNREFUSED/, 'behind a proxy only the first transport is tried')
  assert.equal(accepted.length, 1)

  const aborted = AbortSignal.abort(new Error('gave up'))
  await assert.rejects(dialPolicy(() => [memory])(address, { signal: aborted }), /gave up/)
  await assert.rejects(dialPolicy(() => [])(address), (e: { code?: string }) => e.code === 'ERR_TRANSPORT_UNAVAILABLE')
  await memory.close()
})
