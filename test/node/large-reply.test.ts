/**
 * A request-all for an info dict larger than WRITE_CHUNKS_MIN leaves as one gathering write of
 * its messages (the pieces are views of the cached info dict, not copied into one buffer):
 * a real leecher over real loopback TCP gets every piece, verified by its SHA-1, twice in a row
 * and alongside a small one.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fetchMetadataTcp, spawnCli } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'
import { parseTorrent } from '../../src/index.ts'
import { WRITE_CHUNKS_MIN } from '../../src/core/wire.ts'

const fetchOnce = fetchMetadataTcp

test('request-all for a large info dict: every piece arrives, verified, over TCP', async (t) => {
  const dir = await tmpDir(t)
  const large = makeTorrent({ pieces: 8000 }) // 160 KB of piece hashes: 10 metadata pieces
  const small = makeTorrent()
  await writeFile(path.join(dir, 'large.torrent'), large.torrentBytes)
  await writeFile(path.join(dir, 'small.torrent'), small.torrentBytes)
  const largeParsed = await parseTorrent(large.torrentBytes)
  assert.ok(largeParsed.infoSize > WRITE_CHUNKS_MIN, 'the reply is large enough for the gathering write')
  const smallHash = (await parseTorrent(small.torrentBytes)).infoHash
  const fish = await spawnCli(['-l', dir], t)
  for (let round = 0; round < 2; round++) {
    const [a, b] = await Promise.all([fetchOnce(fish.port, largeParsed.infoHash), fetchOnce(fish.port, smallHash)])
    assert.ok(a.length > largeParsed.infoSize, 'the whole torrent rebuilt from the verified info dict')
    assert.ok(b.length > 0)
  }
  assert.equal(await fish.stop(), 0)
})
