/**
 * torrent-fish at 1M torrents (issue 12): the CLI with every default on plus the HTTP face (for
 * /metrics) and an embedded tracker (a live announce target in this sandbox, where the corpus's
 * tracker fails at DNS and the DHT has no nodes: both get paused), on a corpus of issue 12's mix.
 * Prints load time (wall and CPU), RSS when loaded and after a sample of exchanges, the announce
 * budget the coverage planner chose, the sustained announce rate over a window, and from that
 * the time until every torrent has been announced once to every target.
 *
 *   node bench/million.ts [--torrents 1000000] [--window 60]
 */
import { parseArgs } from 'node:util'
import { createServer } from 'node:net'
import { readFileSync } from 'node:fs'
import { ensureCorpus, prng } from './corpus.ts'
import { startPeer } from './peers.ts'
import { cpuMs, memoryKiB } from './proc-stats.ts'
import { fetchMetadata } from './bep9-client.ts'

const { values } = parseArgs({ options: { torrents: { type: 'string', default: '1000000' }, window: { type: 'string', default: '60' }, 'tf-args': { type: 'string' } } })
const n = Number(values.torrents)
const corpus = ensureCorpus(n, line => console.error(line))
const freePort = (): Promise<number> => new Promise(resolve => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)) })
})
const httpPort = await freePort()
const extra = values['tf-args'] ? values['tf-args'].split(/\s+/).filter(Boolean) : []
/** Bytes read from block devices so far (whole disks only, so partitions are not counted twice). */
const diskReadBytes = (): number => {
  let sectors = 0
  for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length > 5 && /^(vd|sd|nvme\d+n|xvd)[a-z0-9]*$/.test(f[2]) && !/^(vd|sd|xvd)[a-z]+\d|^nvme\d+n\d+p/.test(f[2])) sectors += Number(f[5])
  }
  return sectors * 512
}
const disk0 = diskReadBytes()
const peer = await startPeer('torrent-fish', corpus.dir, { tfArgs: ['--http', `127.0.0.1:${httpPort}`, '--embedded-tracker', ...extra], timeoutMs: 3_600_000 })
const loadCpuS = cpuMs(peer.pid) / 1000
const ready = memoryKiB(peer.pid)
// The whole machine's disk reads while loading (others' too): what says whether the disk or the CPU was the bound.
const diskMB = (diskReadBytes() - disk0) / 1e6
console.log(`${peer.loaded} torrents loaded (${peer.failed} failed) in ${(peer.loadMs / 1000).toFixed(1)} s, ${loadCpuS.toFixed(1)} s CPU; RSS ${(ready.rss / 1024).toFixed(0)} MiB, peak ${(ready.hwm / 1024).toFixed(0)} MiB; ${diskMB.toFixed(0)} MB read from disk meanwhile (${(diskMB / (peer.loadMs / 1000)).toFixed(1)} MB/s)`)
try {
  await new Promise(resolve => setTimeout(resolve, 1000))
  const rand = prng(99)
  let verified = 0
  const sample = Array.from({ length: 24 }, () => corpus.entries[Math.floor(rand() * corpus.entries.length)])
  for (const e of sample) {
    try { if (await fetchMetadata({ host: '127.0.0.1', port: peer.port, infoHash: e.h, timeoutMs: 30_000 }) === e.s) verified += 1 } catch {}
  }
  const served = memoryKiB(peer.pid)
  console.log(`sample: ${verified}/${sample.length} fetched and verified; RSS ${(served.rss / 1024).toFixed(0)} MiB`)
  const announces = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
    let sum = 0
    for (const line of text.split('\n')) if (/^\w*announces_total\{/.test(line)) sum += Number(line.split(' ').pop())
    return sum
  }
  const a0 = await announces()
  const t0 = performance.now()
  const c0 = cpuMs(peer.pid)
  await new Promise(resolve => setTimeout(resolve, Number(values.window) * 1000))
  const a1 = await announces()
  const secs = (performance.now() - t0) / 1000
  const cpu = (cpuMs(peer.pid) - c0) / 1000 / secs
  const rate = (a1 - a0) / secs
  const after = memoryKiB(peer.pid)
  console.log(`announces: ${a1 - a0} in ${secs.toFixed(0)} s = ${rate.toFixed(1)}/s sustained (CPU ${(cpu * 100).toFixed(1)}% of a core meanwhile); RSS ${(after.rss / 1024).toFixed(0)} MiB`)
  console.log(`JSON ${JSON.stringify({ torrents: n, loaded: peer.loaded, loadS: peer.loadMs / 1000, loadCpuS, diskMB, rssReadyMiB: ready.rss / 1024, rssServedMiB: served.rss / 1024, rssAfterMiB: after.rss / 1024, hwmMiB: after.hwm / 1024, verified, sampled: sample.length, announcesPerSec: rate, windowCpu: cpu })}`)
} finally {
  await peer.stop()
}
