/**
 * The load path under faults: the directory removed and created again while running (its
 * torrents go, then come back, without a restart or a signal), and a .torrent written in
 * several steps while the watcher and the scanner look at it (loaded once complete, with one
 * warning for the half-written state at most). Each step waits on an event.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, open, rm, writeFile, rename } from 'node:fs/promises'
import path from 'node:path'
import { createTorrentFish, parseTorrent, type TorrentFish } from '../../src/node.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'
import { fetchMetadata } from './fetch.ts'

function added (fish: TorrentFish, infoHash: string): Promise<void> {
  return new Promise(resolve => { const on = (r: { infoHash: string }): void => { if (r.infoHash === infoHash) { fish.off('torrent-added', on); resolve() } }; fish.on('torrent-added', on) })
}
function removed (fish: TorrentFish, infoHash: string): Promise<void> {
  return new Promise(resolve => { const on = (r: { infoHash: string }): void => { if (r.infoHash === infoHash) { fish.off('torrent-removed', on); resolve() } }; fish.on('torrent-removed', on) })
}
function warned (fish: TorrentFish, match: (w: { code: string, message: string, source?: string }) => boolean): Promise<{ code: string, message: string }> {
  return new Promise(resolve => { const on = (w: any): void => { if (match(w)) { fish.off('warning', on); resolve(w) } }; fish.on('warning', on) })
}

test('the load path removed and created again: its torrents go and come back', { timeout: 60_000 }, async t => {
  const root = await tmpDir(t, 'load-path')
  const dir = path.join(root, 'torrents')
  await mkdir(path.join(dir, 'sub'), { recursive: true })
  const a = makeTorrent()
  const b = makeTorrent({ pieces: 1000 })
  const [ha, hb] = await Promise.all([a, b].map(async x => (await parseTorrent(x.torrentBytes)).infoHash))
  await writeFile(path.join(dir, 'a.torrent'), a.torrentBytes)
  await writeFile(path.join(dir, 'sub', 'b.torrent'), b.torrentBytes)
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', loadPath: dir, discovery: false, utp: false })
  t.after(() => fish.close())
  assert.equal(fish.torrents().length, 2)

  for (let round = 0; round < 2; round++) {
    const gone = Promise.all([removed(fish, ha), removed(fish, hb)])
    const noticed = warned(fish, w => w.code === 'WARN_LOAD_PATH_GONE')
    await rm(dir, { recursive: true })
    await Promise.all([gone, noticed])
    assert.equal(fish.torrents().length, 0)

    // Back, with the files written after the directory (as a restore or a remount would).
    const back = Promise.all([added(fish, ha), added(fish, hb)])
    await mkdir(path.join(dir, 'sub'), { recursive: true })
    await writeFile(path.join(dir, 'a.torrent'), a.torrentBytes)
    await writeFile(path.join(dir, 'sub', 'b.torrent'), b.torrentBytes)
    await back
    assert.deepEqual(fish.torrents().map(r => r.infoHash).sort(), [ha, hb].sort(), `round ${round + 1}`)
    assert.ok((await fetchMetadata(fish.port, hb)).length > 16384, 'served again')
  }

  // And the watch really is back: a new file is picked up without a signal.
  const c = makeTorrent()
  const hc = (await parseTorrent(c.torrentBytes)).infoHash
  const gotC = added(fish, hc)
  await writeFile(path.join(dir, 'sub', 'c.torrent'), c.torrentBytes)
  await gotC

  // Moved away and back, as an operator swapping directories would: no file events for the
  // files inside, so what changed meanwhile is applied by the rescan when it returns.
  const away = path.join(root, 'elsewhere')
  const gone = warned(fish, w => w.code === 'WARN_LOAD_PATH_GONE')
  await rename(dir, away)
  await gone
  assert.equal(fish.torrents().length, 3, 'a moved-away load path keeps serving what it had')
  const d = makeTorrent()
  const hd = (await parseTorrent(d.torrentBytes)).infoHash
  await writeFile(path.join(away, 'd.torrent'), d.torrentBytes)
  await rm(path.join(away, 'a.torrent'))
  const back = warned(fish, w => w.code === 'WARN_LOAD_PATH_BACK')
  await rename(away, dir)
  const w = await back
  assert.match(w.message, /1 loaded, 1 removed/)
  assert.deepEqual(fish.torrents().map(r => r.infoHash).sort(), [hb, hc, hd].sort())
  assert.ok((await fetchMetadata(fish.port, hd)).length > 0)
})

test('a .torrent written in steps while watched is loaded once complete', { timeout: 60_000 }, async t => {
  const dir = await tmpDir(t, 'partial')
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', loadPath: dir, discovery: false, utp: false })
  t.after(() => fish.close())
  const x = makeTorrent({ pieces: 3000 })
  const hx = (await parseTorrent(x.torrentBytes)).infoHash
  const file = path.join(dir, 'slow.torrent')
  const handle = await open(file, 'w')
  const half = Math.floor(x.torrentBytes.length / 2)
  // The first half lands and settles: the loader sees a truncated torrent and says so once.
  const partialWarning = warned(fish, w => w.source === file)
  await handle.write(x.torrentBytes.subarray(0, half), 0, half, 0)
  const w = await partialWarning
  assert.match(w.message, /truncated|not a valid/)
  assert.equal(fish.getTorrent(hx), undefined)
  // The rest: loaded.
  const loaded = added(fish, hx)
  await handle.write(x.torrentBytes.subarray(half), 0, x.torrentBytes.length - half, half)
  await handle.close()
  await loaded
  assert.ok((await fetchMetadata(fish.port, hx)).length > 16384)
})

test('a .torrent half-written when the service starts is loaded once complete', { timeout: 60_000 }, async t => {
  const dir = await tmpDir(t, 'partial-start')
  const x = makeTorrent({ pieces: 3000 })
  const hx = (await parseTorrent(x.torrentBytes)).infoHash
  const file = path.join(dir, 'copying.torrent')
  const handle = await open(file, 'w')
  const half = Math.floor(x.torrentBytes.length / 2)
  await handle.write(x.torrentBytes.subarray(0, half), 0, half, 0)
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', loadPath: dir, discovery: false, utp: false })
  t.after(() => fish.close())
  assert.equal(fish.lastScan?.failed, 1, 'the half file failed the initial scan')
  const loaded = added(fish, hx)
  await handle.write(x.torrentBytes.subarray(half), 0, x.torrentBytes.length - half, half)
  await handle.close()
  await loaded
  assert.equal(fish.torrents().length, 1)
})
