/**
 * The sources in the service's shape: a `sources` part in place of the directory scan, a
 * `coverage` part right after discovery, both in status(); bad `sources` options rejected
 * with the option's name; `lastScan` comes from the sources.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { TorrentFish, createTorrentFish } from '../../src/node/torrent-fish.ts'
import { InvalidOptionError } from '../../src/core/errors.ts'
import { singleFileTorrent } from '../fixtures/torrents.ts'
import { tmpDir } from '../fixtures/tmp.ts'

test('sources and coverage are parts: sources first, coverage after discovery; lastScan from the sources', async t => {
  const a = await tmpDir(t, 'parts-a')
  const b = await tmpDir(t, 'parts-b')
  const x = await singleFileTorrent({ name: 'parts-a.bin', size: 3000 })
  const y = await singleFileTorrent({ name: 'parts-b.bin', size: 3001 })
  await writeFile(path.join(a, 'a.torrent'), x.torrentBytes)
  await writeFile(path.join(b, 'b.torrent'), y.torrentBytes)
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', watch: false, loadPath: a, sources: { locations: [b] }, discovery: { dht: false, lsd: false, trackers: false } })
  t.after(() => fish.close())
  const names = fish.partNames()
  assert.equal(names[0], 'sources')
  assert.ok(!names.includes('directory-scan'))
  assert.equal(names.indexOf('coverage'), names.indexOf('discovery') + 1)
  assert.deepEqual(fish.lastScan, { loaded: 2, failed: 0, ignored: 0 }, 'loadPath is the first location, the sources load both')
  assert.ok(fish.getTorrent(x.infoHash) && fish.getTorrent(y.infoHash))
  const status = fish.status() as { sources: { sources: unknown[] }, coverage: { rate: number } }
  assert.equal(status.sources.sources.length, 2)
  assert.equal(status.coverage.rate, fish.discovery!.scheduler.rate)
  assert.equal(fish.coverage!.report().rate, fish.discovery!.scheduler.rate)
})

test('bad sources options are rejected at construction, naming the option', () => {
  assert.throws(() => new TorrentFish({ sources: { nope: 1 } as never }), (e: unknown) => e instanceof InvalidOptionError && /^sources: /.test((e as Error).message))
  assert.throws(() => new TorrentFish({ sources: 'http://x/' as never }), InvalidOptionError)
})
