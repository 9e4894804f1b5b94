/**
 * uTP with a real uTP-only client: python3-libtorrent with outgoing and incoming TCP disabled
 * fetches a torrent's metadata from torrent-fish, which listens for uTP on its TCP port number.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import type { MetadataServedEvent } from '../../src/core/metadata-peer.ts'
import { singleFileTorrent, magnetFor } from '../fixtures/torrents.ts'
import { waitForEvent } from '../fixtures/discovery.ts'

const HELPER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'libtorrent-utp.py')

test('uTP: a libtorrent client with TCP disabled fetches the metadata over uTP', { timeout: 60_000 }, async t => {
  const torrent = await singleFileTorrent({ name: `lt-utp-${process.pid}.bin`, urlList: ['http://127.0.0.1:9/'] })
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', discovery: false })
  t.after(() => fish.close())
  assert.ok(fish.listening().some(l => l.name === 'utp' && l.port === fish.port), 'uTP listens on the TCP port number')
  await fish.addTorrent(torrent.torrentBytes, { source: 'libtorrent-utp' })
  const served = waitForEvent<[MetadataServedEvent]>(fish, 'metadata-served', e => e.infoHash === torrent.infoHash)

  const out = await new Promise<string>((resolve, reject) => {
    // Debian's interpreter: python3-libtorrent is a Debian package, invisible to a pyenv python3.
    execFile('/usr/bin/python3', [HELPER, magnetFor(torrent), '127.0.0.1', String(fish.port), '30'], { timeout: 45_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`libtorrent helper failed: ${err.message}\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })
  const result = JSON.parse(out.trim().split('\n').pop()!)
  assert.equal(result.ok, true)
  assert.equal(result.infoHash, torrent.infoHash)
  const [event] = await served
  assert.equal(event.peer.transport, 'utp', 'served over uTP')
  t.diagnostic(`libtorrent got the metadata over uTP in ${result.ms} ms`)
})
