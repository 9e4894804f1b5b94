/**
 * The first scan's reader processes (src/node/load-readers.ts), on real files and real child
 * processes: they load what an in-process scan loads, in the same order, with the same
 * warnings for bad files; a reader that is killed part-way, or every reader dying at start,
 * loses no torrent; the load cache they leave behind serves a restart.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { MetadataPeer } from '../../src/core/metadata-peer.ts'
import { DirectoryLoader, type DirectoryLoaderOptions } from '../../src/node/directory-loader.ts'
import { loadCacheFile } from '../../src/node/load-cache.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'

interface Warning { code: string, message: string }

function session (): { peer: MetadataPeer, warnings: Warning[] } {
  const peer = new MetadataPeer({ store: { reader: async r => new Uint8Array(await readFile(r.source!)) } })
  const warnings: Warning[] = []
  peer.on('warning', (w: Warning) => warnings.push(w))
  return { peer, warnings }
}

/** `count` good torrents in two directories, a corrupt one, an empty one, and a duplicate. */
async function corpus (t: { after: (fn: () => unknown) => void }, count = 300): Promise<{ dir: string, state: string, bad: string[] }> {
  const root = await tmpDir(t, 'load-readers')
  const dir = path.join(root, 'torrents')
  await mkdir(path.join(dir, 'sub'), { recursive: true })
  let first: Uint8Array | undefined
  for (let i = 0; i < count; i++) {
    const bytes = makeTorrent({ name: `t${i}.bin`, announce: 'http://tracker.invalid/announce' }).torrentBytes
    first ??= bytes
    await writeFile(path.join(dir, i % 3 === 0 ? 'sub' : '', `t${String(i).padStart(3, '0')}.torrent`), bytes)
  }
  const bad = [path.join(dir, 'm-corrupt.torrent'), path.join(dir, 'sub', 'm-empty.torrent')]
  await writeFile(bad[0], 'd4:infod4:name3:abc') // cut short
  await writeFile(bad[1], '')
  await writeFile(path.join(dir, 'zz-duplicate.torrent'), first!)
  return { dir, state: path.join(root, 'state'), bad }
}

async function load (dir: string, options: DirectoryLoaderOptions): Promise<{ result: Awaited<ReturnType<DirectoryLoader['scan']>>, peer: MetadataPeer, warnings: Warning[], order: string[] }> {
  const { peer, warnings } = session()
  const order: string[] = []
  peer.on('torrent-added', r => order.push(r.source!))
  const result = await new DirectoryLoader(peer, dir, options).scan()
  await new Promise(resolve => setImmediate(resolve)) // warnings are emitted on a microtask
  return { result, peer, warnings, order }
}

test('reader processes load what an in-process scan loads, in its order, with a warning naming each bad file', async t => {
  const { dir, state, bad } = await corpus(t)
  const here = await load(dir, { readers: 0 })
  let spawned = 0
  const cacheFile = loadCacheFile(state, dir)
  const readers = await load(dir, { readers: 2, readersAfter: 10, waitForReaders: true, onReader: () => { spawned += 1 }, cacheFile })
  assert.equal(spawned, 2)
  // Every file after the first 10 went to a reader (a line that did not check out would not count).
  assert.deepEqual(readers.result, { loaded: 300, failed: 3, ignored: 0, cached: 0, readers: 2, fromReaders: 293 })
  assert.deepEqual({ ...readers.result, readers: undefined, fromReaders: undefined }, { ...here.result, readers: undefined, fromReaders: undefined })
  assert.deepEqual(readers.order, here.order, 'same torrents, same order')
  const sorted = (ws: Warning[]): string[] => ws.map(w => `${w.code} ${w.message}`).sort()
  assert.deepEqual(sorted(readers.warnings), sorted(here.warnings), 'the same warnings')
  for (const file of bad) assert.ok(readers.warnings.some(w => w.code === 'ERR_INVALID_TORRENT' && w.message.startsWith(file + ':')), `${file} is named`)
  assert.ok(readers.warnings.some(w => w.code === 'ERR_DUPLICATE_TORRENT' && w.message.includes('zz-duplicate.torrent')))
  // Served: the info dict is read from the file on demand and checked against the info hash.
  for (const r of readers.peer.torrents().slice(0, 20)) assert.equal((await readers.peer.store.info(r.infoHash)).length, r.infoSize)

  // The cache the readers' answers went into serves a restart, without reading a file.
  const restart = await load(dir, { readers: 2, readersAfter: 0, cacheFile })
  assert.deepEqual(restart.result, { loaded: 300, failed: 3, ignored: 0, cached: 300 }, 'a cache was read: no readers')
  assert.deepEqual(restart.order, here.order)
})

test('a reader kept a few files behind: the scan reads the rest itself meanwhile, and adds every record in walk order', async t => {
  const { dir, state } = await corpus(t, 600)
  const here = await load(dir, { readers: 0 })
  const cacheFile = loadCacheFile(state, dir)
  // At most 4 files unanswered: the loader reads most files itself while the reader works.
  const both = await load(dir, { readers: 1, readersAfter: 10, waitForReaders: true, readerRoom: 4, cacheFile })
  const { fromReaders, readers, ...rest } = both.result
  assert.equal(readers, 1)
  assert.ok(fromReaders! > 0 && fromReaders! < 590, `both read (the reader ${fromReaders} of 593)`)
  assert.deepEqual(rest, here.result)
  assert.deepEqual(both.order, here.order, 'same torrents, same order')
  const sorted = (ws: Warning[]): string[] => ws.map(w => `${w.code} ${w.message}`).sort()
  assert.deepEqual(sorted(both.warnings), sorted(here.warnings), 'the same warnings')
  // Every file, whoever read it, went into the cache: a restart reads none.
  const restart = await load(dir, { readers: 1, readersAfter: 0, cacheFile })
  assert.deepEqual(restart.result, { ...here.result, cached: 600 })
  assert.deepEqual(restart.order, here.order)
})

test('a reader killed part-way loses no torrent: what it did not answer is read in process', async t => {
  // 1200 files: a reader is handed 512 at a time, so its first answers come while it owes more.
  const { dir } = await corpus(t, 1200)
  let victim: ChildProcess | undefined
  const kill = (child: ChildProcess): void => {
    if (victim) return
    victim = child
    // Killed on its first answers (the chunk after its "started" line).
    let chunks = 0
    child.stdout!.on('data', () => { if (++chunks === 2) child.kill('SIGKILL') })
  }
  const here = await load(dir, { readers: 0 })
  const got = await load(dir, { readers: 2, readersAfter: 0, waitForReaders: true, onReader: kill })
  const { fromReaders, readers, ...rest } = got.result
  assert.equal(readers, 2)
  assert.deepEqual(rest, here.result)
  assert.deepEqual(got.order, here.order)
  assert.equal(victim!.killed, true, 'the reader was killed, not ended')
  assert.ok(fromReaders! > 0, 'the answers it sent before dying were used')
})

test('every reader gone at start: the scan reads everything in process', async t => {
  const { dir } = await corpus(t)
  const here = await load(dir, { readers: 0 })
  const got = await load(dir, { readers: 2, readersAfter: 0, waitForReaders: true, onReader: child => child.kill('SIGKILL') })
  assert.deepEqual(got.result, { ...here.result, readers: 2, fromReaders: 0 })
  assert.deepEqual(got.order, here.order)
})
