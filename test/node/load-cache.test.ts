/**
 * The directory loader's load cache, on real files: a restart adds unchanged files from the
 * cache without reading them; a file changed, replaced in place (same size, mtime put back) or
 * removed is not taken from it; a corrupt or damaged cache is one warning and the files are
 * read; a state directory that cannot be written is one warning and the scan goes on. The
 * user's .torrent files are never written.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { MetadataPeer } from '../../src/core/metadata-peer.ts'
import { parseTorrent } from '../../src/core/torrent.ts'
import { DirectoryLoader } from '../../src/node/directory-loader.ts'
import { loadCacheFile } from '../../src/node/load-cache.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'

function session (): MetadataPeer {
  return new MetadataPeer({ store: { reader: async r => new Uint8Array(await readFile(r.source!)) } })
}

async function hashOf (bytes: Uint8Array): Promise<string> { return (await parseTorrent(bytes)).infoHash }

/** A load path with three torrents (a, b, c) and a state directory beside it. */
async function setup (t: { after: (fn: () => unknown) => void }): Promise<{ dir: string, cacheFile: string, files: Record<string, string>, bytes: Record<string, Uint8Array> }> {
  const root = await tmpDir(t, 'load-cache')
  const dir = path.join(root, 'torrents')
  await mkdir(path.join(dir, 'sub'), { recursive: true })
  const files: Record<string, string> = { a: path.join(dir, 'a.torrent'), b: path.join(dir, 'sub', 'b.torrent'), c: path.join(dir, 'c.torrent') }
  const bytes: Record<string, Uint8Array> = {}
  for (const [k, f] of Object.entries(files)) {
    bytes[k] = makeTorrent({ name: `${k}-same-length-name.bin`, announce: 'http://tracker.invalid/announce' }).torrentBytes
    await writeFile(f, bytes[k])
  }
  return { dir, cacheFile: loadCacheFile(path.join(root, 'state'), dir), files, bytes }
}

async function scan (dir: string, cacheFile: string): Promise<{ peer: MetadataPeer, result: Awaited<ReturnType<DirectoryLoader['scan']>>, hashes: string[] }> {
  const peer = session()
  const result = await new DirectoryLoader(peer, dir, { cacheFile }).scan()
  return { peer, result, hashes: peer.torrents().map(r => r.infoHash).sort() }
}

test('a restart loads unchanged files from the cache; changed, added and removed files are not taken from it', async t => {
  const { dir, cacheFile, files, bytes } = await setup(t)
  const first = await scan(dir, cacheFile)
  assert.deepEqual({ loaded: first.result.loaded, cached: first.result.cached }, { loaded: 3, cached: 0 })
  assert.ok((await stat(cacheFile)).isFile(), 'the scan wrote the cache')

  const second = await scan(dir, cacheFile)
  assert.deepEqual({ loaded: second.result.loaded, cached: second.result.cached }, { loaded: 3, cached: 3 })
  assert.deepEqual(second.hashes, first.hashes)
  // Served from the file on demand, checked against the info hash: the record is the real one.
  const aHash = await hashOf(bytes.a)
  const record = second.peer.getTorrent(aHash)!
  assert.equal(record.source, files.a)
  const info = await second.peer.store.info(aHash)
  assert.equal(info.length, record.infoSize)

  // b now holds another torrent, c is gone, d is new.
  const b2 = makeTorrent({ name: 'b-other.bin' }).torrentBytes
  await writeFile(files.b, b2)
  await rm(files.c)
  const d = makeTorrent({ name: 'd.bin' }).torrentBytes
  await writeFile(path.join(dir, 'd.torrent'), d)
  const third = await scan(dir, cacheFile)
  assert.deepEqual({ loaded: third.result.loaded, cached: third.result.cached }, { loaded: 3, cached: 1 })
  assert.deepEqual(third.hashes, [aHash, await hashOf(b2), await hashOf(d)].sort())

  const fourth = await scan(dir, cacheFile)
  assert.deepEqual({ loaded: fourth.result.loaded, cached: fourth.result.cached }, { loaded: 3, cached: 3 })
})

test('a file rewritten in place with the same size and its mtime put back is read again (its ctime moved)', async t => {
  const { dir, cacheFile, files, bytes } = await setup(t)
  const mtime = 1_700_000_000 // whole seconds, so putting it back is exact
  await utimes(files.b, mtime, mtime)
  await scan(dir, cacheFile)
  const before = await stat(files.b)
  const other = makeTorrent({ name: 'b-same-length-name.bin', announce: 'http://tracker.invalid/announce' }).torrentBytes
  assert.equal(other.length, bytes.b.length, 'same size')
  await writeFile(files.b, other)
  await utimes(files.b, mtime, mtime)
  assert.equal((await stat(files.b)).mtimeMs, before.mtimeMs, 'same mtime')
  const again = await scan(dir, cacheFile)
  assert.equal(again.result.cached, 2)
  assert.ok(again.hashes.includes(await hashOf(other)))
  assert.ok(!again.hashes.includes(await hashOf(bytes.b)), 'the old torrent is not served from a stale entry')
})

test('a corrupt cache is one warning, every file is read, the torrents are untouched and a good cache replaces it', async t => {
  const { dir, cacheFile, files, bytes } = await setup(t)
  await scan(dir, cacheFile)
  await writeFile(cacheFile, 'not a cache at all\n\u0000\u0001garbage')
  const peer = session()
  const warned = once(peer, 'warning')
  const result = await new DirectoryLoader(peer, dir, { cacheFile }).scan()
  const [w] = await warned as [{ code: string, message: string }]
  assert.equal(w.code, 'WARN_LOAD_CACHE')
  assert.match(w.message, /not a load cache .*reading every file instead/)
  assert.deepEqual({ loaded: result.loaded, cached: result.cached }, { loaded: 3, cached: 0 })
  for (const k of Object.keys(files)) assert.deepEqual(new Uint8Array(await readFile(files[k])), bytes[k], 'torrent files are never written')
  const next = await scan(dir, cacheFile)
  assert.equal(next.result.cached, 3, 'the scan wrote a good cache in its place')

  // One damaged line costs that entry only, with a warning.
  const text = await readFile(cacheFile, 'utf8')
  const lines = text.split('\n')
  lines[2] = lines[2].replace('tracker.invalid', 'tracker.invalix')
  await writeFile(cacheFile, lines.join('\n'))
  const damaged = session()
  const warnedAgain = once(damaged, 'warning')
  const r2 = await new DirectoryLoader(damaged, dir, { cacheFile }).scan()
  const [w2] = await warnedAgain as [{ code: string, message: string }]
  assert.match(w2.message, /damaged \(1 entries did not check out\)/)
  assert.deepEqual({ loaded: r2.loaded, cached: r2.cached }, { loaded: 3, cached: 2 })
  assert.ok(!damaged.torrents().some(r => r.announce.flat().some(u => u.includes('invalix'))), 'nothing from the damaged line is used')
})

test('a cache whose entries are one 20 MiB run without a newline is damaged: one warning, every file is read', async t => {
  const { dir, cacheFile } = await setup(t)
  await scan(dir, cacheFile)
  const lines = (await readFile(cacheFile, 'utf8')).split('\n')
  // The header kept, then 20 MiB with no newline where the entries were.
  await writeFile(cacheFile, `${lines[0]}\n${'x'.repeat(20 * 1024 * 1024)}`)
  const peer = session()
  const warned = once(peer, 'warning')
  const result = await new DirectoryLoader(peer, dir, { cacheFile }).scan()
  const [w] = await warned as [{ code: string, message: string }]
  assert.equal(w.code, 'WARN_LOAD_CACHE')
  assert.deepEqual({ loaded: result.loaded, cached: result.cached }, { loaded: 3, cached: 0 })
})

test('a state directory that cannot be written is one warning; the scan loads everything', async t => {
  const { dir } = await setup(t)
  const blocker = path.join(path.dirname(dir), 'not-a-dir')
  await writeFile(blocker, 'a file where the state directory should be')
  const cacheFile = path.join(blocker, 'state', 'load-cache', 'x.jsonl')
  const peer = session()
  const warned = once(peer, 'warning')
  const result = await new DirectoryLoader(peer, dir, { cacheFile }).scan()
  const [w] = await warned as [{ code: string, message: string }]
  assert.equal(w.code, 'WARN_LOAD_CACHE')
  assert.match(w.message, /cannot write the load cache .*the next start reads every file again/)
  assert.deepEqual({ loaded: result.loaded, failed: result.failed, cached: result.cached }, { loaded: 3, failed: 0, cached: 0 })
})
