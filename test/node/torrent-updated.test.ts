/**
 * Replacing a torrent keeps its peers: rewriting a watched .torrent with the same info hash
 * (here: a tracker and a web seed added) during a live exchange is a `torrent-updated`, not a
 * remove + add. The leecher's connection stays open and can fetch the metadata again, the
 * counters carry on, and the next announce goes to the new tracker. A different info hash in
 * the same file is a remove + add.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { writeFile, rename } from 'node:fs/promises'
import path from 'node:path'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import type { PeerClosedEvent } from '../../src/core/metadata-peer.ts'
import type { TorrentRecord } from '../../src/core/torrent.ts'
import { startLeecher, type Leecher } from '../fixtures/leecher.ts'
import { makeTorrent, pseudoRandomBytes } from '../fixtures/torrents.ts'
import { startTracker } from '../fixtures/tracker.ts'
import { tmpDir } from '../fixtures/tmp.ts'

function fetchMetadata (leecher: Leecher): Promise<Uint8Array> {
  const ext = (leecher.wire as any).ut_metadata
  const got = once(ext, 'metadata') as Promise<[Uint8Array]>
  ext.fetch()
  return got.then(([bytes]) => bytes)
}

/** Asks for every metadata piece with raw ut_metadata requests; resolves with the joined data. */
async function requestAllPieces (leecher: Leecher, infoSize: number): Promise<Uint8Array> {
  const count = Math.ceil(infoSize / 16384)
  const start = leecher.observed.metadataMessages.length
  const done = new Promise<void>(resolve => {
    const check = (ext: string): void => {
      if (ext !== 'ut_metadata') return
      if (leecher.observed.metadataMessages.length - start >= count) { leecher.wire.off('extended', check); resolve() }
    }
    leecher.wire.on('extended', check)
  })
  for (let piece = 0; piece < count; piece++) leecher.sendMetadataMessage({ msg_type: 0, piece })
  await done
  const got = leecher.observed.metadataMessages.slice(start).sort((a, b) => a.msg.piece - b.msg.piece)
  return new Uint8Array(Buffer.concat(got.map(m => m.data)))
}

/** Writes next to the file and renames over it, as editors and `cp` to a temp name do. */
async function rewrite (file: string, bytes: Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`)
  await writeFile(tmp, bytes)
  await rename(tmp, file)
}

test('rewriting a watched .torrent (same info hash) during a live exchange keeps the peer and the counters', async t => {
  const first = await startTracker(t)
  const second = await startTracker(t)
  const content = pseudoRandomBytes(100_000, 'updated')
  const before = await makeTorrent({ name: 'updated.bin', content, announce: [first.httpUrl] })
  const after = await makeTorrent({ name: 'updated.bin', content, announce: [first.httpUrl, second.httpUrl], urlList: ['http://127.0.0.1:9/updated.bin'] })
  assert.equal(after.infoHash, before.infoHash, 'same info dict, other trackers and web seeds')

  const dir = await tmpDir(t, 'updated')
  const file = path.join(dir, 'updated.torrent')
  await writeFile(file, before.torrentBytes)
  const firstAnnounce = first.waitForAnnounce(before.infoHash)
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', loadPath: dir, utp: false, webrtc: false, discovery: { dht: false, lsd: false, outgoing: false, scheduler: { startJitterMs: 0 } } })
  t.after(() => fish.close())
  await firstAnnounce
  const closes: PeerClosedEvent[] = []
  fish.on('peer-close', e => closes.push(e))
  const removed: TorrentRecord[] = []
  fish.on('torrent-removed', r => removed.push(r))

  const socket = net.connect(fish.port, '127.0.0.1')
  await once(socket, 'connect')
  const leecher = startLeecher(socket, before.infoHash)
  t.after(() => leecher.destroy())
  await fetchMetadata(leecher)
  assert.equal(fish.torrentStats(before.infoHash).metadataServed, 1)

  const updated = once(fish, 'torrent-updated') as Promise<[TorrentRecord, TorrentRecord]>
  const secondAnnounce = second.waitForAnnounce(before.infoHash)
  await rewrite(file, after.torrentBytes)
  const [record, previous] = await updated
  assert.equal(record.infoHash, before.infoHash)
  assert.deepEqual(previous.announce.flat(), [first.httpUrl])
  assert.deepEqual(record.announce.flat(), [first.httpUrl, second.httpUrl], 'the new trackers are in the record')
  assert.deepEqual(fish.getTorrent(before.infoHash)!.urlList, ['http://127.0.0.1:9/updated.bin'], 'the new web seed too')

  // The same connection, still open, serves the metadata again, read from the rewritten file.
  const piecesBefore = fish.torrentStats(before.infoHash).metadataPiecesServed
  const again = await requestAllPieces(leecher, before.infoBytes.length)
  assert.deepEqual(again, before.infoBytes, 'the same info dict, byte-exact, over the same connection')
  assert.equal(leecher.observed.closed, false, 'the leecher was never disconnected')
  assert.deepEqual(closes, [], 'no peer was closed')
  assert.deepEqual(removed, [], 'no torrent-removed for a same-hash rewrite')
  const stats = fish.torrentStats(before.infoHash)
  assert.equal(stats.metadataServed, 1, 'counters kept across the update (a reset would read 0)')
  assert.equal(stats.metadataPiecesServed, piecesBefore * 2, 'pieces of both copies counted')
  assert.equal(stats.peers, 1, 'the peer is still counted')

  // The next announce goes to the tracker the rewritten file added.
  await secondAnnounce
})

test('a watched file rewritten with a different info hash is a remove + add', async t => {
  const one = await makeTorrent({ name: 'one.bin', content: pseudoRandomBytes(20_000, 'one') })
  const two = await makeTorrent({ name: 'two.bin', content: pseudoRandomBytes(20_000, 'two') })
  const dir = await tmpDir(t, 'replaced')
  const file = path.join(dir, 'x.torrent')
  await writeFile(file, one.torrentBytes)
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', loadPath: dir, utp: false, webrtc: false, discovery: false })
  t.after(() => fish.close())
  const added = once(fish, 'torrent-added') as Promise<[TorrentRecord]>
  const removed = once(fish, 'torrent-removed') as Promise<[TorrentRecord]>
  await rewrite(file, two.torrentBytes)
  assert.equal((await added)[0].infoHash, two.infoHash)
  assert.equal((await removed)[0].infoHash, one.infoHash)
  assert.deepEqual(fish.torrents().map(r => r.infoHash), [two.infoHash])
})
