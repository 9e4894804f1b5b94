/**
 * SIGKILL then restart: nothing gets to clean up (no `stopped` announce, the DHT state may be
 * mid-write), and the restarted process on the same port must serve again quickly: proven by
 * a real metadata fetch, the time from spawn to the first served fetch reported.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'
import { parseTorrent } from '../../src/index.ts'
import { startChild } from './child.ts'
import { fetchMetadata } from './fetch.ts'

test('SIGKILL, then a restart on the same port serves again', { timeout: 90_000 }, async t => {
  const dir = await tmpDir(t, 'sigkill')
  const load = path.join(dir, 'load')
  const state = path.join(dir, 'state')
  await mkdir(load)
  const torrents = Array.from({ length: 20 }, (_, i) => makeTorrent({ pieces: i % 2 === 0 ? 1000 : 4 }))
  for (const [i, x] of torrents.entries()) await writeFile(path.join(load, `${i}.torrent`), x.torrentBytes)
  const hashes = await Promise.all(torrents.map(async x => (await parseTorrent(x.torrentBytes)).infoHash))
  const args = (port: number): string[] => ['-l', load, '--state-dir', state, '--dht-bootstrap', 'none', '--no-lsd', '--no-announce', '--json', '-p', String(port), '-i', '127.0.0.1']

  const t00 = performance.now()
  const first = startChild(args(0), t)
  const port = Number((await first.waitFor('listening', e => e.transport === 'tcp')).port)
  const coldStart = performance.now() - t00
  assert.ok((await fetchMetadata(port, hashes[0])).length > 16384)
  // Kill it while a fetch is in flight and connections are open.
  const inFlight = fetchMetadata(port, hashes[1]).catch(() => null)
  first.child.kill('SIGKILL')
  const killed = await first.exited
  assert.equal(killed.signal, 'SIGKILL')
  await inFlight

  const t0 = performance.now()
  const second = startChild(args(port), t)
  await second.waitFor('listening', e => e.transport === 'tcp' && Number(e.port) === port)
  const listening = performance.now() - t0
  for (const h of [hashes[0], hashes[1], hashes[19]]) assert.ok((await fetchMetadata(port, h)).length > 0, `serves ${h} after the restart`)
  const serving = performance.now() - t0
  // Absolute times depend on the machine's load: compare with the first start in the same run.
  t.diagnostic(`first start: listening in ${Math.round(coldStart)} ms; restart after SIGKILL: listening in ${Math.round(listening)} ms (${(listening / coldStart).toFixed(2)}x), three torrents served in ${Math.round(serving)} ms (20 torrents loaded)`)
  assert.equal(second.events.find(e => e.event === 'loaded')?.loaded, 20)
  await second.stop()
  assert.equal((await second.exited).code, 0)
})
