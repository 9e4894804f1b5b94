/**
 * Acceptance for `--shard K/N`: three CLI instances (1/3, 2/3, 3/3) on one manifest and one
 * tracker (the embedded tracker, in the test process). Every torrent is announced by exactly
 * the instance its rendezvous hash names; python3-libtorrent with a tracker-only magnet gets
 * the metadata for a torrent of every shard; an instance hands out the .torrent of another
 * shard's torrent naming its shard. Re-split to four shards (library instances): only the
 * torrents the new shard 4/4 takes move, about a quarter.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { singleFileTorrent, magnetFor, type FixtureTorrent } from '../fixtures/torrents.ts'
import { spawnCli, type CliProcess } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { startEmbeddedTracker } from '../../src/discovery/embedded-tracker.ts'
import { createTorrentFish, type TorrentFish } from '../../src/node/torrent-fish.ts'
import { shardOf } from '../../src/sources/shard.ts'
import { startSourceServer } from './source-server.ts'
import { waitForEvent } from '../fixtures/discovery.ts'

const run = promisify(execFile)
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lt_magnet.py')
const PYTHON = process.env.TF_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')
const COUNT = 40

test('three shards on one source and one tracker: each torrent announced once, found by libtorrent; a fourth shard moves a quarter', { timeout: 180_000 }, async t => {
  const server = await startSourceServer(t)
  const torrents: FixtureTorrent[] = await Promise.all(Array.from({ length: COUNT }, (_, i) => singleFileTorrent({ name: `shard-${i}.bin`, size: 8_000 + i })))
  for (const x of torrents) server.put(`${x.name}.torrent`, x.torrentBytes)
  const tracker = await startEmbeddedTracker({ port: 0, host: '127.0.0.1' })
  t.after(() => tracker.close())
  // Who announced what: info hash -> ports.
  const announced = new Map<string, Set<number>>()
  const onAnnounce = (_addr: string, params: { info_hash: string, port: number, event?: string }): void => {
    if (!announced.has(params.info_hash)) announced.set(params.info_hash, new Set())
    announced.get(params.info_hash)!.add(params.port)
  }
  tracker.server.on('start', onAnnounce)
  tracker.server.on('update', onAnnounce)
  const allAnnounced = waitForEvent(tracker.server, 'start', () => torrents.every(x => announced.has(x.infoHash)), 60_000)

  const fish: CliProcess[] = []
  for (let k = 1; k <= 3; k++) {
    fish.push(await spawnCli(['-l', server.url('/manifest.txt'), '--shard', `${k}/3`, '--tracker', tracker.httpUrl, '--state-dir', await tmpDir(t, `shard${k}`), '--http', '127.0.0.1:0'], t))
  }
  await allAnnounced
  const byPort = new Map(fish.map((f, i) => [f.port, i + 1]))
  for (const x of torrents) {
    const ports = [...announced.get(x.infoHash)!]
    assert.equal(ports.length, 1, `${x.name} announced by exactly one instance (ports ${ports.join(', ')})`)
    assert.equal(byPort.get(ports[0]), shardOf(x.infoHash, 3), `${x.name} announced by the shard that owns it`)
  }
  const sizes = [1, 2, 3].map(k => torrents.filter(x => shardOf(x.infoHash, 3) === k).length)
  assert.ok(sizes.every(n => n > 0), `every shard has torrents: ${sizes.join(', ')}`)

  // A real client with only xt + tr finds the right instance for one torrent of each shard.
  for (let k = 1; k <= 3; k++) {
    const x = torrents.find(y => shardOf(y.infoHash, 3) === k)!
    const { stdout } = await run(PYTHON, [SCRIPT, '--magnet', magnetFor(x, { trackers: [tracker.httpUrl] }), '--timeout', '40'], { timeout: 60_000 })
      .catch((err: { stdout?: string, stderr?: string, message: string }) => { throw new Error(`libtorrent: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`) })
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!)
    assert.equal(result.ok, true, JSON.stringify(result))
    assert.equal(result.info_hash, x.infoHash)
    assert.ok(result.peers.includes(`127.0.0.1:${fish[k - 1].port}`), `metadata from shard ${k}'s instance: ${result.peers}`)
  }

  // Instance 1 still hands out another shard's .torrent, byte-exact, naming the owner.
  const http1 = await fish[0].waitFor('http')
  const other = torrents.find(y => shardOf(y.infoHash, 3) === 2)!
  const res = await fetch(`${http1.url}/${other.infoHash}.torrent`)
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('x-torrent-fish-shard'), '2/3')
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), other.torrentBytes)
  const health = await (await fetch(`${http1.url}/health`)).json()
  assert.equal(health.sources.shard, '1/3')
  assert.equal(health.torrents, sizes[0])
  assert.equal(health.sources.otherShards, COUNT - sizes[0])
  // Coverage of this shard's announces: in /health, /metrics and the startup log.
  const tracked = health.coverage.targets.find((x: { key: string }) => x.key === tracker.httpUrl)
  assert.equal(tracked?.torrents, sizes[0], JSON.stringify(health.coverage))
  assert.equal(health.coverage.ok, true)
  const metrics = await (await fetch(`${http1.url}/metrics`)).text()
  assert.match(metrics, /torrent_fish_announce_coverage_ratio\{target="http:\/\/127\.0\.0\.1:\d+\/announce",kind="tracker"\} 1/)
  assert.match(metrics, /torrent_fish_shard_other_torrents \d+/)
  const logged = await fish[0].waitFor('announce-coverage', e => e.message.includes(tracker.httpUrl))
  assert.match(logged.message, new RegExp(`every torrent stays findable.*${sizes[0]} torrents`))
  for (const f of fish) assert.equal(await f.stop(), 0)

  // Four shards: each keeps a subset of what it had at three, shard 4 takes the rest.
  const four: TorrentFish[] = []
  for (let k = 1; k <= 4; k++) {
    const f = await createTorrentFish({ listen: false, discovery: false, sources: { locations: [server.url('/manifest.txt')], shard: { index: k, count: 4 }, cacheDir: await tmpDir(t, `four${k}`) } })
    t.after(() => f.close())
    await waitForEvent(f.sources!, 'poll')
    four.push(f)
  }
  let moved = 0
  for (const x of torrents) {
    const owners = four.filter(f => f.store.has(x.infoHash)).map(f => four.indexOf(f) + 1)
    assert.equal(owners.length, 1, `${x.name} served by exactly one of four`)
    const before = shardOf(x.infoHash, 3)
    if (owners[0] !== before) {
      moved += 1
      assert.equal(owners[0], 4, `${x.name} moved from shard ${before} to ${owners[0]}, not to the new one`)
    }
  }
  assert.equal(moved, four[3].store.size)
  // About a quarter: 40 torrents, binomial(40, 1/4) is 10 +- 2.7.
  assert.ok(moved >= 3 && moved <= 18, `moved ${moved} of ${COUNT}`)
  t.diagnostic(`shard sizes at 3: ${sizes.join(', ')}; ${moved} of ${COUNT} moved to shard 4/4`)
})
