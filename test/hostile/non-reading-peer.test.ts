// A peer that asks for everything and then reads nothing, over real loopback TCP (the
// connection served from the accepted handle, adapters/node-tcp-handle.ts): four copies of a
// 2 MB info dict (8 MB of replies: the kernel takes ~4 MB for a loopback reader that reads
// nothing, the rest waits in libuv's queue) back up in the peer's socket, its reading pauses
// (requests sent after that wait in the kernel), a correct leecher is served meanwhile, and once the stalled peer reads, the replies
// drain, the waiting requests are read and answered, and every piece arrives, in order, byte
// for byte.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MetadataPeer } from '../../src/index.ts'
import { listenTcp } from '../../src/transport/tcp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'
import { parseTorrent } from '../../src/core/torrent.ts'
import { fetchMetadata } from '../../bench/bep9-client.ts'
import { RawPeer, handshake, extended } from './raw-peer.ts'
import { MAX_METADATA_COPIES_PER_CONNECTION, METADATA_PIECE_SIZE } from '../../src/core/constants.ts'
import bencode from 'bencode'

test('a peer that asks for all of a large info dict and reads nothing stalls only itself; once it reads, every byte arrives in order', async (t) => {
  const peer = new MetadataPeer()
  const large = makeTorrent({ pieces: 100_000 }) // 2 MB of piece hashes
  const parsed = await parseTorrent(large.torrentBytes)
  await peer.addTorrent(large.torrentBytes)
  const pieces = Math.ceil(parsed.infoSize / METADATA_PIECE_SIZE)
  assert.ok(pieces >= 120, `${pieces} metadata pieces`)
  const listener = await listenTcp(peer, { port: 0, host: '127.0.0.1' })
  t.after(async () => { await peer.close(); await listener.close() })
  assert.equal(listener.handleStreams, true)

  const stalled = await RawPeer.connect(listener.port, { localAddress: '127.0.41.1' })
  t.after(() => stalled.destroy())
  stalled.socket.pause() // reads nothing until told
  const requests: Uint8Array[] = []
  for (let copy = 0; copy < MAX_METADATA_COPIES_PER_CONNECTION; copy++) {
    for (let piece = 0; piece < pieces; piece++) requests.push(extended(1, { msg_type: 0, piece }))
  }
  // Half now: ~4 MB of replies, past what the kernel takes: the connection's reading pauses.
  const half = requests.length / 2
  stalled.send(handshake(parsed.infoHash), extended(0, { m: { ut_metadata: 1 } }), ...requests.slice(0, half))

  // Meanwhile a correct leecher, from another network, gets the same torrent.
  const size = await fetchMetadata({ host: '127.0.0.1', port: listener.port, infoHash: parsed.infoHash, timeoutMs: 10_000, localAddress: '127.0.42.1' })
  assert.equal(size, parsed.infoSize)
  assert.equal(stalled.socket.destroyed, false, 'the stalled peer is still connected')

  // The other half waits in the kernel, unread by the paused connection, until the stalled
  // peer reads and the replies drain; then they are answered too.
  stalled.send(...requests.slice(half))
  // Now it reads: every data message, in the order asked, each the right slice of the info dict.
  stalled.socket.resume()
  const expected = requests.length
  const ours = await stalled.extendedHandshake()
  const id = ours.m.ut_metadata as number
  await stalled.frameWhere(() => stalled.frames.filter(f => f.id === 20 && f.payload[0] === id).length >= expected, `${expected} data messages`)
  const data = stalled.frames.filter(f => f.id === 20 && f.payload[0] === id)
  assert.equal(data.length, expected)
  const info = parsed.infoBytes
  for (let i = 0; i < data.length; i++) {
    const body = data[i].payload.subarray(1)
    const dict = bencode.decode(body) as { msg_type: number, piece: number, total_size: number }
    const piece = i % pieces
    assert.equal(dict.msg_type, 1)
    assert.equal(dict.piece, piece, `message ${i} answers piece ${dict.piece}, asked ${piece}`)
    assert.equal(dict.total_size, info.length)
    const start = piece * METADATA_PIECE_SIZE
    const want = info.subarray(start, Math.min(start + METADATA_PIECE_SIZE, info.length))
    const got = body.subarray(body.length - want.length)
    assert.ok(Buffer.from(got).equals(Buffer.from(want)), `message ${i}: the bytes of piece ${piece} differ`)
  }
})
