/**
 * Found by the parser fuzz suite's oracle: the bencode library (4.0.1, and the 2.0.3 copy
 * under k-rpc-socket that the DHT uses) loops forever on a string with a negative length,
 * e.g. `d1:a-3:abce`: `decode.buffer()` moves its position backwards. Every decode of remote
 * input goes through it: the Wire's extended handshake, our ut_metadata server, the DHT's
 * UDP messages, HTTP tracker replies. One such message froze the whole process.
 *
 * Each vector goes to its own CLI child; a correct leecher must then still get metadata.
 * (The fourth, an HTTP tracker answering an announce with it, reaches the shared copy too.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import dgram from 'node:dgram'
import http from 'node:http'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { spawnCli } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'
import { parseTorrent } from '../../src/index.ts'
import { fetchMetadata } from '../faults/fetch.ts'

const HOSTILE = Buffer.from('d1:a-3:abce')

/** Fails instead of hanging the run when the process under test stopped answering. */
function answering<T> (p: Promise<T>, what: string, ms = 30_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout>
  const dead = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`torrent-fish stopped answering after ${what} (a decode loop)`)), ms) })
  return Promise.race([p, dead]).finally(() => clearTimeout(timer))
}

function frame (id: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + payload.length)
  b.writeUInt32BE(payload.length + 1, 0)
  b[4] = id
  b.set(payload, 5)
  return b
}

async function tcpVector (port: number, infoHash: string, extId: number): Promise<void> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.on('error', () => {})
  const reserved = Buffer.alloc(8)
  reserved[5] = 0x10
  socket.write(Buffer.concat([Buffer.from('\u0013BitTorrent protocol'), reserved, Buffer.from(infoHash, 'hex'), Buffer.alloc(20, 7)]))
  if (extId !== 0) socket.write(frame(20, Buffer.concat([Buffer.from([0]), Buffer.from('d1:md11:ut_metadatai3eee')])))
  socket.write(frame(20, Buffer.concat([Buffer.from([extId]), HOSTILE])))
  // Wait until the peer answered our handshake or closed on the bad message (either means it
  // processed what we sent), then leave.
  await Promise.race([once(socket, 'data'), once(socket, 'close')])
  socket.destroy()
}

for (const vector of ['extended handshake', 'ut_metadata message', 'DHT datagram'] as const) {
  test(`a negative bencode string length in a ${vector} does not freeze the process`, { timeout: 120_000 }, async t => {
    const dir = await tmpDir(t, 'bencode-hang')
    const torrent = makeTorrent()
    const infoHash = (await parseTorrent(torrent.torrentBytes)).infoHash
    await writeFile(path.join(dir, 'a.torrent'), torrent.torrentBytes)
    const args = vector === 'DHT datagram'
      ? ['-l', dir, '--dht-bootstrap', 'none', '--no-lsd', '--no-announce', '--state-dir', path.join(dir, 'state')]
      : ['-l', dir]
    const fish = await spawnCli(args, t, { discovery: vector === 'DHT datagram' })
    assert.ok((await answering(fetchMetadata(fish.port, infoHash), 'start')).length > 0)
    if (vector === 'DHT datagram') {
      const udp = dgram.createSocket('udp4')
      await new Promise<void>(resolve => udp.send(HOSTILE, fish.port, '127.0.0.1', () => resolve()))
      udp.close()
    } else {
      await answering(tcpVector(fish.port, infoHash, vector === 'extended handshake' ? 0 : 1), 'the handshake')
    }
    assert.ok((await answering(fetchMetadata(fish.port, infoHash), `a ${vector} with a negative string length`)).length > 0)
    assert.equal(await fish.stop(), 0)
  })
}

test('a negative bencode string length in an HTTP tracker reply does not freeze the process', { timeout: 120_000 }, async t => {
  const dir = await tmpDir(t, 'bencode-hang-tracker')
  let answered!: () => void
  const replied = new Promise<void>(resolve => { answered = resolve })
  const tracker = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.end(HOSTILE, () => answered())
  })
  tracker.listen(0, '127.0.0.1')
  await once(tracker, 'listening')
  t.after(() => new Promise<void>(resolve => { tracker.closeAllConnections(); tracker.close(() => resolve()) }))
  const announce = `http://127.0.0.1:${(tracker.address() as net.AddressInfo).port}/announce`
  const torrent = makeTorrent({ announce })
  const infoHash = (await parseTorrent(torrent.torrentBytes)).infoHash
  await writeFile(path.join(dir, 'a.torrent'), torrent.torrentBytes)
  const fish = await spawnCli(['-l', dir], t)
  // The announce goes out within the start jitter; the reply is the hostile bencode.
  await answering(replied, 'waiting for the announce', 60_000)
  assert.ok((await answering(fetchMetadata(fish.port, infoHash), 'a tracker reply with a negative string length')).length > 0)
  assert.equal(await fish.stop(), 0)
})
