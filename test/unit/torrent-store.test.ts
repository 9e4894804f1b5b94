// TorrentStore: lookups by every hash a peer may use, duplicates, on-demand reading with a
// bounded cache, and detection of files that changed under us.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { TorrentStore } from '../../src/core/torrent-store.ts'
import { parseTorrent, DuplicateTorrentError, type TorrentRecord } from '../../src/index.ts'
import { makeTorrent, makeLargeTorrent } from '../fixtures/memory-torrents.ts'

test('finds a torrent by info hash (any case) and by its MSE obfuscated hash', async () => {
  const store = new TorrentStore()
  const p = await parseTorrent(makeTorrent().torrentBytes)
  await store.add(p)
  assert.equal(store.get(p.infoHash.toUpperCase())?.infoHash, p.infoHash)
  const obfuscated = createHash('sha1').update(Buffer.concat([Buffer.from('req2'), Buffer.from(p.infoHash, 'hex')])).digest('hex')
  assert.equal(store.resolveObfuscated(obfuscated), p.infoHash)
  store.remove(p.infoHash)
  assert.equal(store.resolveObfuscated(obfuscated), undefined)
  assert.equal(store.get(p.infoHash), undefined)
})

test('refuses a duplicate info hash unless replacing', async () => {
  const store = new TorrentStore()
  const t = makeTorrent()
  await store.add(await parseTorrent(t.torrentBytes, 'a.torrent'))
  await assert.rejects(store.add(await parseTorrent(t.torrentBytes, 'b.torrent')), (err: unknown) => {
    assert.ok(err instanceof DuplicateTorrentError)
    assert.match((err as Error).message, /b\.torrent: info hash [0-9a-f]{40} is already loaded from a\.torrent/)
    return true
  })
  const replaced = await store.add(await parseTorrent(t.torrentBytes, 'b.torrent'), { replace: true })
  assert.equal(replaced.source, 'b.torrent')
  assert.equal(store.size, 1)
})

test('reads unpinned info bytes on demand, caches within the budget, and re-reads after eviction', async () => {
  const files = new Map<string, Uint8Array>()
  let reads = 0
  const store = new TorrentStore({
    reader: async (r: TorrentRecord) => { reads += 1; return files.get(r.source!)! },
    cacheBytes: 30_000
  })
  const a = await parseTorrent(makeLargeTorrent().torrentBytes, 'a')
  const b = await parseTorrent(makeLargeTorrent().torrentBytes, 'b')
  files.set('a', a.torrentBytes)
  files.set('b', b.torrentBytes)
  await store.add(a)
  await store.add(b)
  assert.equal(store.cachedBytes, 0, 'loading fills no cache: 100k torrents would flush it for nothing')
  const first = store.info(b.infoHash)
  assert.ok(first instanceof Promise, 'first use reads the file')
  assert.deepEqual(await first, b.infoBytes)
  assert.deepEqual(store.info(b.infoHash), b.infoBytes, 'cached: returned synchronously')
  assert.deepEqual(await store.info(a.infoHash), a.infoBytes) // ~20 KB each: a evicts b from a 30 KB cache
  assert.ok(store.cachedBytes <= 30_000)
  const again = store.info(b.infoHash)
  assert.ok(again instanceof Promise, 'evicted: read again')
  assert.deepEqual(await again, b.infoBytes)
  assert.equal(reads, 3)
  assert.deepEqual(await store.torrentFile(a.infoHash), a.torrentBytes)
})

test('a file that changed on disk is reported, never served', async () => {
  let current: Uint8Array
  const store = new TorrentStore({ reader: async () => current, cacheBytes: 1 })
  const a = await parseTorrent(makeTorrent().torrentBytes, '/srv/a.torrent')
  current = makeTorrent().torrentBytes
  await store.add(a)
  await assert.rejects(async () => await store.info(a.infoHash), /\/srv\/a\.torrent: changed on disk since it was loaded/)
})
