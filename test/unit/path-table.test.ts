/**
 * The directory loader's packed per-file table: what each path provides, whether a file is
 * unchanged since it loaded, removal and reuse, every path listed back exactly (non-ASCII names
 * included), across the growth of its columns and its lookup table.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PathTable } from '../../src/node/path-table.ts'

const hex = (i: number): string => i.toString(16).padStart(40, 'a')

test('path table: set, look up, unchanged, delete and list back 20k paths in several directories', () => {
  const t = new PathTable()
  const paths: string[] = []
  for (let i = 0; i < 20_000; i++) {
    const p = `/srv/torrents/${i % 7 === 0 ? 'sub/' : ''}${i % 11 === 0 ? 'été-' : ''}file-${i}.torrent`
    paths.push(p)
    t.set(p, hex(i), 1_700_000_000_000.5 + i, 1000 + i)
  }
  assert.equal(t.size, 20_000)
  for (let i = 0; i < 20_000; i += 97) {
    assert.equal(t.infoHash(paths[i]), hex(i))
    assert.equal(t.unchanged(paths[i], 1_700_000_000_000.5 + i, 1000 + i), true)
    assert.equal(t.unchanged(paths[i], 1_700_000_000_000.5 + i, 999 + i), false, 'another size')
    assert.equal(t.unchanged(paths[i], 1_700_000_000_001.5 + i, 1000 + i), false, 'another mtime')
  }
  assert.equal(t.infoHash('/srv/torrents/file-20000.torrent'), undefined)
  assert.equal(t.infoHash('/elsewhere/file-1.torrent'), undefined, 'an unknown directory')
  // A rewrite of the same path with another torrent.
  t.set(paths[3], hex(123_456), 5, 6)
  assert.equal(t.infoHash(paths[3]), hex(123_456))
  assert.equal(t.size, 20_000)
  for (let i = 0; i < 20_000; i += 2) assert.equal(t.delete(paths[i]), true)
  assert.equal(t.delete(paths[0]), false)
  assert.equal(t.size, 10_000)
  assert.equal(t.infoHash(paths[2]), undefined)
  assert.equal(t.infoHash(paths[3]), hex(123_456))
  // Freed entries are reused.
  t.set('/srv/torrents/new.torrent', 'v2-or-odd-key', 1, 2)
  assert.equal(t.infoHash('/srv/torrents/new.torrent'), 'v2-or-odd-key')
  assert.deepEqual(new Set(t.paths()), new Set([...paths.filter((_, i) => i % 2 === 1), '/srv/torrents/new.torrent']))
  assert.ok(t.bytes < 20_000 * 120, `${t.bytes} bytes for 20k paths`)
})
