// The packed index under the store: lookups by info hash and MSE obfuscated hash across
// growth and removals, every record field read back exactly, interned tables, views of a
// removed torrent staying readable, and the store's records as views with the old fields.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { PackedIndex, hexAt, hexInto, type PackedFields } from '../../src/core/index-packed.ts'
import { TorrentStore } from '../../src/core/torrent-store.ts'
import { parseTorrent } from '../../src/index.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'

const sha1 = (s: string): Uint8Array => new Uint8Array(createHash('sha1').update(s).digest())
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function fields (i: number, extra: Partial<PackedFields> = {}): PackedFields {
  const hash = sha1(`torrent ${i}`)
  return {
    hash,
    obfuscated: sha1(`req2 ${i}`),
    infoHashV1: hex(hash),
    infoHashV2: undefined,
    name: `name ${i} ünïcödé`,
    length: 2 ** 40 + i, // above 2^32: lengths are Float64, not Uint32
    fileCount: i % 7 + 1,
    pieceLength: 262144,
    pieceCount: i,
    infoSize: 300 + i,
    private: i % 5 === 0,
    announce: i % 2 === 0 ? [['http://a.example/announce', 'udp://b.example:80'], ['http://c.example/announce']] : [],
    urlList: i % 3 === 0 ? [`http://seed.example/${i}/`, 'http://mirror.example/'] : [],
    source: `/srv/torrents/dir${i % 4}/file-${i}.torrent`,
    infoOffset: 50 + i,
    ...extra
  }
}

test('hex helpers round-trip and refuse what is not 40 hex chars', () => {
  const b = sha1('x')
  const out = new Uint8Array(20)
  assert.equal(hexAt(b, 0), hex(b))
  assert.ok(hexInto(hex(b).toUpperCase(), out))
  assert.deepEqual(out, b)
  assert.equal(hexInto('zz' + hex(b).slice(2), out), false)
  assert.equal(hexInto(hex(b).slice(1), out), false)
  assert.equal(hexInto(hex(b) + '00', out), false)
})

test('5,000 torrents: every one found by both hashes and read back field by field, across growth', () => {
  const index = new PackedIndex(16) // start tiny so the columns and tables grow many times
  const n = 5000
  for (let i = 0; i < n; i++) assert.equal(index.put(fields(i)), i)
  assert.equal(index.live, n)
  for (let i = 0; i < n; i++) {
    const f = fields(i)
    const slot = index.find(hex(f.hash))
    assert.equal(slot, i)
    assert.equal(index.findObfuscated(hex(f.obfuscated).toUpperCase()), i)
    assert.equal(index.infoHash(slot), hex(f.hash))
    assert.equal(index.name(slot), f.name)
    assert.equal(index.length[slot], f.length)
    assert.equal(index.source(slot), f.source)
    assert.deepEqual(index.announce(slot), f.announce)
    assert.deepEqual(index.urlList(slot), f.urlList)
    assert.equal(index.flags[slot] & 2, f.private ? 2 : 0)
  }
  assert.equal(index.find(hex(sha1('not loaded'))), -1)
  assert.equal(index.findObfuscated(hex(sha1('not loaded'))), -1)
  // Equal tracker lists are one shared array, not a copy per torrent.
  assert.equal(index.announce(0), index.announce(2))
  index.trim()
  assert.equal(index.name(n - 1), fields(n - 1).name, 'trim keeps what is used')
  assert.ok(index.bytes < n * 400, `index holds ${index.bytes} bytes for ${n} torrents`)
})

test('removal takes a torrent out of both lookups; its slot stays readable and is not reused', () => {
  const index = new PackedIndex(4)
  for (let i = 0; i < 100; i++) index.put(fields(i))
  for (let i = 0; i < 100; i += 2) index.remove(i)
  assert.equal(index.live, 50)
  for (let i = 0; i < 100; i++) {
    const f = fields(i)
    assert.equal(index.find(hex(f.hash)), i % 2 === 0 ? -1 : i)
    assert.equal(index.findObfuscated(hex(f.obfuscated)), i % 2 === 0 ? -1 : i)
  }
  assert.equal(index.name(10), fields(10).name, 'a view of a removed torrent still reads its own fields')
  // Many adds after many tombstones: lookups stay right through the rehash.
  for (let i = 100; i < 1000; i++) assert.equal(index.put(fields(i)), i)
  for (let i = 1; i < 1000; i += 2) assert.equal(index.find(hex(fields(i).hash)), i)
})

test('a replacement rewrites its slot in place', () => {
  const index = new PackedIndex()
  const slot = index.put(fields(1))
  assert.equal(index.put(fields(1, { name: 'renamed', source: '/other/place.torrent', urlList: [] }), slot), slot)
  assert.equal(index.slots, 1)
  assert.equal(index.name(slot), 'renamed')
  assert.equal(index.source(slot), '/other/place.torrent')
  assert.deepEqual(index.urlList(slot), [])
})

test('the store hands out views with every TorrentRecord field, equal by info hash', async () => {
  const store = new TorrentStore()
  const t = makeTorrent()
  const parsed = await parseTorrent(t.torrentBytes, '/srv/a.torrent')
  const added = await store.add(parsed)
  const got = store.get(parsed.infoHash)!
  assert.equal(got.infoHash, added.infoHash)
  for (const key of ['infoHash', 'infoHashV1', 'infoHashV2', 'name', 'length', 'fileCount', 'pieceLength', 'pieceCount', 'infoSize', 'private', 'source', 'infoOffset'] as const) {
    assert.equal(got[key], parsed[key], key)
  }
  assert.deepEqual(got.announce, parsed.announce)
  assert.deepEqual(got.urlList, parsed.urlList)
  assert.deepEqual(JSON.parse(JSON.stringify(got)).name, parsed.name, 'a view serializes with its fields')
  assert.deepEqual([...store.records()].map(r => r.infoHash), [parsed.infoHash])
  const removed = store.remove(parsed.infoHash)!
  assert.equal(removed.name, parsed.name)
  assert.equal(store.get(parsed.infoHash), undefined)
  assert.equal(store.size, 0)
})

test('the store rejects a negative or fractional cache budget', () => {
  assert.throws(() => new TorrentStore({ cacheBytes: -1 }), /cacheBytes/)
  assert.throws(() => new TorrentStore({ cacheBytes: 1.5 }), /cacheBytes/)
  assert.equal(new TorrentStore({ cacheBytes: 0 }).cacheBudget, 0)
})

test('isCurrent tells a view made before a replacement or removal from a current one', async () => {
  const store = new TorrentStore()
  const parsed = await parseTorrent(makeTorrent().torrentBytes, 'a.torrent')
  const first = await store.add(parsed)
  assert.ok(store.isCurrent(first))
  assert.ok(store.isCurrent(store.get(parsed.infoHash)!), 'another view of the same revision')
  const second = await store.add(await parseTorrent(parsed.torrentBytes, 'b.torrent'), { replace: true })
  assert.equal(store.isCurrent(first), false, 'replaced')
  assert.ok(store.isCurrent(second))
  store.remove(parsed.infoHash)
  assert.equal(store.isCurrent(second), false, 'removed')
})
