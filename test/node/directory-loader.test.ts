// The load path while running: new subdirectories, replaced files, moved-away files.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { createTorrentFish, parseTorrent, type TorrentFish } from '../../src/node.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'

function added (fish: TorrentFish, infoHash: string): Promise<void> {
  return new Promise(resolve => fish.on('torrent-added', r => { if (r.infoHash === infoHash) resolve() }))
}
function removed (fish: TorrentFish, infoHash: string): Promise<void> {
  return new Promise(resolve => fish.on('torrent-removed', r => { if (r.infoHash === infoHash) resolve() }))
}

test('follows a subdirectory created while running, a replaced file and a file moved away', async (t) => {
  const dir = await tmpDir(t)
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', loadPath: dir, discovery: false, utp: false })
  t.after(() => fish.close())
  assert.equal(fish.torrents().length, 0)

  const a = makeTorrent()
  const aHash = (await parseTorrent(a.torrentBytes)).infoHash
  const gotA = added(fish, aHash)
  await mkdir(path.join(dir, 'new', 'deeper'), { recursive: true })
  await writeFile(path.join(dir, 'new', 'deeper', 'a.torrent'), a.torrentBytes)
  await gotA

  // Replace a.torrent's content with another torrent: the old hash goes, the new one comes.
  const b = makeTorrent()
  const bHash = (await parseTorrent(b.torrentBytes)).infoHash
  const gotB = added(fish, bHash)
  const goneA = removed(fish, aHash)
  await writeFile(path.join(dir, 'tmp.part'), b.torrentBytes)
  await rename(path.join(dir, 'tmp.part'), path.join(dir, 'new', 'deeper', 'a.torrent'))
  await Promise.all([gotB, goneA])
  assert.deepEqual(fish.torrents().map(r => r.infoHash), [bHash])

  const goneB = removed(fish, bHash)
  await rm(path.join(dir, 'new'), { recursive: true })
  await goneB
  assert.equal(fish.torrents().length, 0)
})
