// Slowloris: 10x the connection limit of silent and dripping (1 byte / 2 s) connections from
// 2,000 addresses in 127.0.0.0/8, re-opened whenever closed, against the CLI with -c 200.
// Before admission under pressure every newcomer was refused with connection-limit while the
// table was full (a correct leecher got ~7% through); now a newcomer evicts the oldest
// connection still handshaking, and the correct leecher keeps >= 99%.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeTorrent, writeTorrentFiles } from '../fixtures/torrents.ts'
import { spawnCli } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { startFlood, runLeecher, describe } from './load.ts'

test('silent and dripping connections at 10x the limit: a correct leecher keeps >= 99% success', async (t) => {
  const dir = await tmpDir(t)
  const torrent = await makeTorrent({ name: 'slowloris', content: new Uint8Array(50_000).fill(9) })
  await writeTorrentFiles(dir, [torrent])
  const cli = await spawnCli(['-l', dir, '-c', '200', '--no-utp'], t)
  t.after(() => cli.stop())

  const unloaded = await runLeecher({ port: cli.port, infoHash: torrent.infoHash, count: 100, concurrency: 2 })
  t.diagnostic(describe('unloaded', unloaded))
  assert.equal(unloaded.failed, 0)

  const silent = await startFlood({ mode: 'silent', port: cli.port, count: 1000, sources: 1000, doneAt: 1000 })
  const drip = await startFlood({ mode: 'drip', port: cli.port, count: 1000, sources: 1000, dripMs: 2000, infoHash: torrent.infoHash, doneAt: 1000 })
  t.after(() => Promise.all([silent.stop(), drip.stop()]))
  // Measure under the whole flood (a slow machine can finish the leecher before 2,000 are open).
  await Promise.all([silent.done, drip.done])
  const loaded = await runLeecher({ port: cli.port, infoHash: torrent.infoHash, count: 200, concurrency: 4 })
  const [s, d] = await Promise.all([silent.stop(), drip.stop()])
  t.diagnostic(describe('under slowloris', loaded))
  t.diagnostic(`attack: ${s.connects + d.connects} connections opened, ${s.closes + d.closes} closed by the peer`)
  assert.equal(cli.child.exitCode, null, 'still running')
  assert.ok(s.connects + d.connects >= 2000, `the whole flood connected (${s.connects + d.connects})`)
  assert.ok(loaded.rate >= 0.99, describe('under slowloris', loaded))
})
