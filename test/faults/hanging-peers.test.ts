/**
 * Remote services that accept and never answer. A tracker (HTTP: TCP accepted, no reply; UDP:
 * datagrams swallowed): announces time out at the configured bound, the sockets are closed,
 * and serving is unaffected meanwhile (a real fetch while the announce hangs). A web seed that
 * accepts and never answers: the health checker times out on it and reports that torrent,
 * while a healthy web seed's torrent is reported ok and metadata keeps being served.
 * Each step waits on an event (server connection, scheduler result, checker change).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import dgram from 'node:dgram'
import { once } from 'node:events'
import { createTorrentFish, type TorrentFish } from '../../src/node/torrent-fish.ts'
import type { WebSeedStatus } from '../../src/node/web-seed-health.ts'
import { singleFileTorrent } from '../fixtures/torrents.ts'
import { startTestWebSeed } from '../fixtures/web-seed.ts'
import { fetchMetadata } from './fetch.ts'

/** A TCP server that accepts and never writes a byte; counts and closes sockets on `close()`. */
async function silentServer (): Promise<{ port: number, sockets: Set<net.Socket>, connected: Promise<net.Socket>, closedByPeer: Promise<void>, close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>()
  let onConnected!: (s: net.Socket) => void
  let onClosed!: () => void
  const connected = new Promise<net.Socket>(resolve => { onConnected = resolve })
  const closedByPeer = new Promise<void>(resolve => { onClosed = resolve })
  const server = net.createServer(socket => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => { sockets.delete(socket); onClosed() })
    socket.resume() // read the request, answer nothing
    onConnected(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    connected,
    closedByPeer,
    close: async () => { for (const s of sockets) s.destroy(); await new Promise<void>(resolve => server.close(() => resolve())) }
  }
}

type Result = [string, string, { ok: boolean, message?: string }]
function result (fish: TorrentFish, infoHash: string, target: string): Promise<Result[2]> {
  return new Promise(resolve => {
    const on = (ih: string, key: string, r: Result[2]): void => { if (ih === infoHash && key === target) { fish.discovery!.scheduler.off('result', on); resolve(r) } }
    fish.discovery!.scheduler.on('result', on)
  })
}

test('a tracker that accepts and never answers: announces time out, serving is unaffected', { timeout: 60_000 }, async t => {
  const http = await silentServer()
  t.after(() => http.close())
  const udp = dgram.createSocket('udp4')
  let datagrams = 0
  udp.on('message', () => { datagrams += 1 })
  udp.bind(0, '127.0.0.1')
  await once(udp, 'listening')
  t.after(() => udp.close())
  const httpUrl = `http://127.0.0.1:${http.port}/announce`
  const udpUrl = `udp://127.0.0.1:${udp.address().port}`
  const torrent = await singleFileTorrent({ name: 'hanging-tracker.bin', announce: [httpUrl, udpUrl] })
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', utp: false, discovery: { scheduler: { startJitterMs: 0, announceTimeoutMs: 1500 } } })
  t.after(() => fish.close())
  const httpResult = result(fish, torrent.infoHash, httpUrl)
  const udpResult = result(fish, torrent.infoHash, udpUrl)
  await fish.addTorrent(torrent.torrentBytes, { source: 'hanging-tracker' })

  // The announce is hanging on an open connection: serving goes on regardless.
  await http.connected
  assert.ok((await fetchMetadata(fish.port, torrent.infoHash)).length > 0, 'metadata served while the announce hangs')
  assert.equal(http.sockets.size, 1, 'the announce connection is still open, unanswered')

  const [h, u] = await Promise.all([httpResult, udpResult])
  assert.equal(h.ok, false)
  assert.equal(u.ok, false)
  assert.match(String(h.message), /1500 ms|timed out|timeout/i)
  assert.ok(datagrams >= 1, 'the UDP tracker was asked')
  // The timed-out HTTP announce does not leave its socket behind.
  await http.closedByPeer
  assert.equal(http.sockets.size, 0)
  assert.ok((await fetchMetadata(fish.port, torrent.infoHash)).length > 0, 'and still served after the timeouts')
})

function statusOf (fish: TorrentFish, infoHash: string, want: (s: WebSeedStatus) => boolean): Promise<WebSeedStatus> {
  const current = fish.webSeedHealth!.get(infoHash)
  if (current && want(current)) return Promise.resolve(current)
  return new Promise(resolve => {
    const on = (s: WebSeedStatus): void => { if (s.infoHash === infoHash && want(s)) { fish.webSeedHealth!.off('change', on); resolve(s) } }
    fish.webSeedHealth!.on('change', on)
  })
}

test('a web seed that accepts and never answers: the checker times out and reports, nothing else is affected', { timeout: 60_000 }, async t => {
  const hanging = await silentServer()
  t.after(() => hanging.close())
  const good = await startTestWebSeed(t)
  const stuck = await singleFileTorrent({ name: 'stuck-seed.bin', urlList: [`http://127.0.0.1:${hanging.port}/stuck-seed.bin`] })
  const fine = await singleFileTorrent({ name: 'fine-seed.bin', urlList: [good.urlFor('fine-seed.bin')] })
  await good.add(fine)
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', utp: false, discovery: false, webSeedCheck: { intervalMs: 60_000, timeoutMs: 800, requestsPerSecond: 100 } })
  t.after(() => fish.close())
  const warnings: string[] = []
  fish.on('warning', w => warnings.push(w.message))
  await fish.addTorrent(stuck.torrentBytes, { source: 'stuck' })
  await fish.addTorrent(fine.torrentBytes, { source: 'fine' })

  await hanging.connected
  // While the checker waits on the hanging seed, metadata of both torrents is served.
  assert.ok((await fetchMetadata(fish.port, stuck.infoHash)).length > 0)
  const okStatus = await statusOf(fish, fine.infoHash, s => s.status === 'ok')
  assert.equal(okStatus.status, 'ok', 'the healthy seed is not held up by the hanging one')
  const bad = await statusOf(fish, stuck.infoHash, s => s.status !== 'ok' && s.status !== 'unknown')
  assert.match(`${bad.reason ?? ''} ${JSON.stringify(bad.urls)}`, /timed out/)
  await hanging.closedByPeer
  assert.equal(hanging.sockets.size, 0, 'the timed-out request closed its connection')
  assert.ok(warnings.some(m => m.includes('stuck-seed.bin') || m.includes(stuck.infoHash)), `a warning names the torrent: ${warnings.join(' | ')}`)
  assert.ok((await fetchMetadata(fish.port, fine.infoHash)).length > 0)
})
