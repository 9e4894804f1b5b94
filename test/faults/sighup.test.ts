/**
 * SIGHUP rescans the load path (it used to kill the process: Node's default). With the
 * watcher off, the only way a change is seen is the signal: a file added, one removed and
 * one corrupted are all applied by one SIGHUP, and the process keeps serving.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'
import { parseTorrent } from '../../src/index.ts'
import { startChild } from './child.ts'
import { fetchMetadata } from './fetch.ts'

test('SIGHUP rescans the load path and the process keeps serving', async t => {
  const dir = await tmpDir(t, 'sighup')
  const a = makeTorrent({ pieces: 1000 })
  const b = makeTorrent()
  const c = makeTorrent()
  const [ha, hb, hc] = await Promise.all([a, b, c].map(async x => (await parseTorrent(x.torrentBytes)).infoHash))
  await writeFile(path.join(dir, 'a.torrent'), a.torrentBytes)
  await writeFile(path.join(dir, 'b.torrent'), b.torrentBytes)
  const p = startChild(['-l', dir, '--no-watch', '--json', '-p', '0', '-i', '127.0.0.1', '--no-dht', '--no-lsd'], t)
  const port = Number((await p.waitFor('listening', e => e.transport === 'tcp')).port)
  assert.ok((await fetchMetadata(port, ha)).length > 16384)

  // Without the watcher nothing changes until the signal.
  await writeFile(path.join(dir, 'c.torrent'), c.torrentBytes)
  await rm(path.join(dir, 'b.torrent'))
  await writeFile(path.join(dir, 'broken.torrent'), 'd4:info')

  const rescanned = p.next('rescan')
  const removed = p.next('torrent-removed', e => e.infoHash === hb)
  const added = p.next('torrent-added', e => e.infoHash === hc)
  p.child.kill('SIGHUP')
  const r = await rescanned
  await Promise.all([removed, added])
  assert.equal(r.loaded, 1, 'c.torrent loaded')
  assert.equal(r.removed, 1, 'b.torrent gone')
  assert.equal(r.failed, 1, 'broken.torrent named')
  assert.equal(r.unchanged, 1, 'a.torrent left alone')
  // Warnings go to stderr, the rescan line to stdout: no order between them, so wait for it.
  const named = await p.waitFor('warning', e => String(e.source).endsWith('broken.torrent'))
  assert.match(named.message, /broken\.torrent/)

  assert.ok((await fetchMetadata(port, hc)).length > 0, 'the new torrent is served')
  assert.ok((await fetchMetadata(port, ha)).length > 16384, 'the old one still is')
  await assert.rejects(fetchMetadata(port, hb), /closed before/, 'the removed one is not')

  // A second SIGHUP with nothing changed changes nothing, and the process is still alive.
  const again = p.next('rescan')
  p.child.kill('SIGHUP')
  const r2 = await again
  assert.deepEqual([r2.loaded, r2.removed, r2.unchanged], [0, 0, 2])
  assert.equal(p.child.exitCode, null)
  await p.stop()
  assert.equal((await p.exited).code, 0)
})
