// parseTorrent: exact info bytes, hashes (v1, hybrid, v2), fields, and clear errors for bad input.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import bencode from 'bencode'
import { parseTorrent, InvalidTorrentError, limits } from '../../src/index.ts'
import { makeTorrent, makeUnsortedTorrent } from '../fixtures/memory-torrents.ts'

const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

test('keeps the exact info bytes of a non-canonical torrent and hashes them', async () => {
  const t = makeUnsortedTorrent()
  const parsed = await parseTorrent(t.torrentBytes, 'unsorted.torrent')
  const reencoded = bencode.encode(bencode.decode(parsed.infoBytes))
  assert.notDeepEqual(reencoded, parsed.infoBytes, 'fixture really is non-canonical')
  assert.equal(parsed.infoHash, sha1(parsed.infoBytes))
  assert.equal(parsed.infoSize, parsed.infoBytes.length)
  assert.deepEqual(parsed.torrentBytes.subarray(parsed.infoOffset, parsed.infoOffset + parsed.infoSize), parsed.infoBytes)
})

test('reads name, size, pieces, trackers, web seeds and the private flag', async () => {
  const t = makeTorrent({ pieces: 10, private: true, urlList: ['http://seed.example/a.bin'], announce: 'http://tracker.example/announce' })
  const p = await parseTorrent(t.torrentBytes)
  assert.equal(p.name, t.name)
  assert.equal(p.length, 10 * 16384)
  assert.equal(p.pieceCount, 10)
  assert.equal(p.fileCount, 1)
  assert.equal(p.private, true)
  assert.deepEqual(p.announce, [['http://tracker.example/announce']])
  assert.deepEqual(p.urlList, ['http://seed.example/a.bin'])
})

test('announce-list tiers win over announce; url-list may be a single string', async () => {
  const info = { length: 1, name: 'x', 'piece length': 16384, pieces: new Uint8Array(20) }
  const bytes = bencode.encode({ announce: 'http://a/', 'announce-list': [['http://b/', 'udp://c:1'], ['wss://d/']], info, 'url-list': 'http://seed/x' })
  const p = await parseTorrent(bytes)
  assert.deepEqual(p.announce, [['http://b/', 'udp://c:1'], ['wss://d/']])
  assert.deepEqual(p.urlList, ['http://seed/x'])
})

test('sums the files of a multi-file torrent', async () => {
  const info = { files: [{ length: 5, path: ['a'] }, { length: 7, path: ['b', 'c'] }], name: 'dir', 'piece length': 16384, pieces: new Uint8Array(20) }
  const p = await parseTorrent(bencode.encode({ info }))
  assert.equal(p.length, 12)
  assert.equal(p.fileCount, 2)
})

test('a hybrid v1/v2 torrent is keyed by its v1 hash and knows its v2 hash', async () => {
  const info = {
    'file tree': { 'a.bin': { '': { length: 40000, 'pieces root': new Uint8Array(32) } } },
    length: 40000,
    'meta version': 2,
    name: 'a.bin',
    'piece length': 16384,
    pieces: new Uint8Array(60)
  }
  const bytes = bencode.encode({ info, 'piece layers': {} })
  const p = await parseTorrent(bytes)
  const raw = bencode.encode(info)
  assert.equal(p.infoHash, sha1(raw))
  assert.equal(p.infoHashV1, sha1(raw))
  assert.equal(p.infoHashV2, sha256(raw))
  assert.equal(p.pieceCount, 3)
})

test('a v2-only torrent is keyed by its truncated SHA-256', async () => {
  const info = {
    'file tree': { d: { 'x.bin': { '': { length: 100000, 'pieces root': new Uint8Array(32) } }, 'y.bin': { '': { length: 10, 'pieces root': new Uint8Array(32) } } } },
    'meta version': 2,
    name: 'd',
    'piece length': 65536
  }
  const p = await parseTorrent(bencode.encode({ info }))
  const raw = bencode.encode(info)
  assert.equal(p.infoHashV1, undefined)
  assert.equal(p.infoHash, sha256(raw).slice(0, 40))
  assert.equal(p.length, 100010)
  assert.equal(p.fileCount, 2)
  assert.equal(p.pieceCount, 3)
})

const bad: Array<[string, Uint8Array, RegExp]> = [
  ['empty file', new Uint8Array(0), /file is empty/],
  ['not bencode', new TextEncoder().encode('<html>not a torrent</html>'), /not a valid \.torrent/],
  ['truncated', makeTorrent().torrentBytes.subarray(0, 60), /not a valid \.torrent/],
  ['no info', bencode.encode({ announce: 'http://a/' }), /no "info"/],
  ['info is a string', bencode.encode({ info: 'x' }), /not a dictionary/],
  ['no name', bencode.encode({ info: { length: 1, 'piece length': 16384, pieces: new Uint8Array(20) } }), /no "name"/],
  ['bad piece length', bencode.encode({ info: { length: 1, name: 'x', 'piece length': -5, pieces: new Uint8Array(20) } }), /piece length/],
  ['pieces not multiple of 20', bencode.encode({ info: { length: 1, name: 'x', 'piece length': 16384, pieces: new Uint8Array(21) } }), /multiple of 20/],
  ['no length or files', bencode.encode({ info: { name: 'x', 'piece length': 16384, pieces: new Uint8Array(20) } }), /neither "length" nor "files"/],
  ['bad file length', bencode.encode({ info: { files: [{ length: 'x', path: ['a'] }], name: 'x', 'piece length': 16384, pieces: new Uint8Array(20) } }), /valid length/],
  ['no pieces, no file tree', bencode.encode({ info: { length: 1, name: 'x', 'piece length': 16384 } }), /neither v1/]
]
for (const [name, bytes, message] of bad) {
  test(`rejects a bad torrent (${name}) naming the source`, async () => {
    await assert.rejects(parseTorrent(bytes, '/srv/torrents/bad.torrent'), (err: unknown) => {
      assert.ok(err instanceof InvalidTorrentError)
      assert.equal(err.code, 'ERR_INVALID_TORRENT')
      assert.match(err.message, /^\/srv\/torrents\/bad\.torrent: /)
      assert.match(err.message, message)
      return true
    })
  })
}

test('caps the info dict size', async () => {
  const pieces = new Uint8Array(Math.ceil((limits.MAX_INFO_SIZE + 20) / 20) * 20)
  const bytes = bencode.encode({ info: { length: 1, name: 'big', 'piece length': 16384, pieces } })
  await assert.rejects(parseTorrent(bytes, 'big.torrent'), /info dictionary is \d+ bytes, above the/)
})

test('mangled torrents (truncations, flipped bytes) only ever fail with InvalidTorrentError', async () => {
  // A deterministic fuzz: thousands of variants of a valid multi-file torrent.
  const info = { files: [{ length: 5, path: ['a'] }, { length: 7, path: ['b', 'c'] }], name: 'dir', 'piece length': 16384, pieces: new Uint8Array(40) }
  const good = bencode.encode({ announce: 'http://t/', info, 'url-list': ['http://s/'] })
  let seed = 12345
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n }
  let parsed = 0
  for (let i = 0; i < 3000; i++) {
    const v = good.slice(0, i % 3 === 0 ? rand(good.length) : good.length)
    for (let k = 0; k < 1 + rand(3); k++) if (v.length > 0) v[rand(v.length)] = rand(256)
    try {
      await parseTorrent(v, 'fuzz')
      parsed += 1
    } catch (err) {
      assert.ok(err instanceof InvalidTorrentError, `unexpected ${(err as Error).name}: ${(err as Error).message}`)
    }
  }
  assert.ok(parsed > 0, 'some variants still parse (flips inside strings)')
})
