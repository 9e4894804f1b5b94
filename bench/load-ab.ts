/**
 * Load time and RSS of two or more checkouts in one run, alternating (the order rotating by round): for each round and each
 * checkout, a cold start (a new state directory: no load cache) and then a restart on that
 * state directory (the load cache of the cold start). Every default on (the CLI as
 * bench/peers.ts starts it), the corpus of bench/corpus.ts. Per start: wall time to loaded and
 * listening, CPU seconds until then, RSS `--settle` seconds after, peak RSS (VmHWM), and
 * 24 sample exchanges verified. Prints each start, then medians (min-max) per checkout.
 *
 *   node bench/load-ab.ts --torrents 100000 --rounds 3 /work/wt/base6-scale /work/wt/scale6
 *
 * `--evict`: before each start, write back and drop the page cache, dentries and inodes
 * (`sync; echo 3 > /proc/sys/vm/drop_caches`, root only: without root it says so and stops), so
 * every start reads the corpus from the disk. Run it under the machine's benchmark lock. `--kinds
 * cold` leaves out the restarts.
 */
import { parseArgs } from 'node:util'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir, loadavg } from 'node:os'
import path from 'node:path'
import { ensureCorpus, prng } from './corpus.ts'
import { startPeer } from './peers.ts'
import { cpuMs, memoryKiB } from './proc-stats.ts'
import { fetchMetadata } from './bep9-client.ts'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { torrents: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' }, settle: { type: 'string', default: '3' }, 'tf-args': { type: 'string' }, evict: { type: 'boolean', default: false }, kinds: { type: 'string', default: 'cold,restart' } }
})
const kinds = values.kinds.split(',').filter(k => k === 'cold' || k === 'restart')
if (kinds.length === 0 || kinds[0] !== 'cold') throw new Error('--kinds: cold, or cold,restart')
if (values.evict && process.getuid?.() !== 0) {
  console.error('--evict: cannot drop the page cache without root (/proc/sys/vm/drop_caches); run as root or leave --evict out')
  process.exit(2)
}

/** Writes dirty pages back and drops the page cache, dentries and inodes. */
function evict (): void {
  execFileSync('sync')
  writeFileSync('/proc/sys/vm/drop_caches', '3\n')
}
const checkouts = positionals.length > 0 ? positionals.map(p => path.resolve(p)) : [path.resolve(import.meta.dirname, '..')]
const corpus = ensureCorpus(Number(values.torrents), line => console.error(line))
const extra = values['tf-args'] ? values['tf-args'].split(/\s+/).filter(Boolean) : []

interface Start { wallS: number, cpuS: number, rssMiB: number, hwmMiB: number, verified: number, readers?: number, inDiskOrder?: number }
const results = new Map<string, Start[]>()

async function start (checkout: string, stateDir: string): Promise<Start> {
  const peer = await startPeer('torrent-fish', corpus.dir, { entry: path.join(checkout, 'bench', 'tf-cli.ts'), tfArgs: ['--state-dir', stateDir, ...extra], timeoutMs: 3_600_000 })
  try {
    const cpuS = cpuMs(peer.pid) / 1000
    await new Promise(resolve => setTimeout(resolve, Number(values.settle) * 1000))
    const rand = prng(7)
    let verified = 0
    for (let i = 0; i < 24; i++) {
      const e = corpus.entries[Math.floor(rand() * corpus.entries.length)]
      try { if (await fetchMetadata({ host: '127.0.0.1', port: peer.port, infoHash: e.h, timeoutMs: 30_000 }) === e.s) verified += 1 } catch {}
    }
    const m = memoryKiB(peer.pid)
    const scan = peer.scan as { readers?: number, inDiskOrder?: number } | undefined
    return { wallS: peer.loadMs / 1000, cpuS, rssMiB: m.rss / 1024, hwmMiB: m.hwm / 1024, verified, readers: scan?.readers, inDiskOrder: scan?.inDiskOrder }
  } finally {
    await peer.stop()
  }
}

const fmt = (s: Start): string => `${s.wallS.toFixed(2)} s wall, ${s.cpuS.toFixed(2)} s CPU, RSS ${s.rssMiB.toFixed(0)} MiB (peak ${s.hwmMiB.toFixed(0)}), ${s.verified}/24 verified` +
  (s.readers !== undefined ? `, ${s.readers} readers` : '') + (s.inDiskOrder !== undefined ? `, ${s.inDiskOrder} files in disk order` : '')
for (let round = 1; round <= Number(values.rounds); round++) {
  // The order rotates between rounds: whoever goes first also pays for bringing the corpus back
  // into the page cache after other work evicted it.
  const order = checkouts.map((_, i) => checkouts[(i + round - 1) % checkouts.length])
  for (const checkout of order) {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'tf-load-ab-'))
    try {
      for (const kind of kinds) {
        if (values.evict) evict()
        const load = loadavg()[0].toFixed(1)
        const s = await start(checkout, stateDir)
        const key = `${path.basename(checkout)} ${kind}`
        results.set(key, [...(results.get(key) ?? []), s])
        console.log(`round ${round} ${key} (load ${load}): ${fmt(s)}`)
      }
    } finally {
      rmSync(stateDir, { recursive: true, force: true })
    }
  }
}
const med = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
  const d = s[0] < 20 ? 2 : 0
  return `${m.toFixed(d)} (${s[0].toFixed(d)}-${s[s.length - 1].toFixed(d)})`
}
console.log(`\n${corpus.entries.length} torrents, medians (min-max) of ${values.rounds} rounds:`)
for (const [key, xs] of results) {
  console.log(`${key}: wall ${med(xs.map(x => x.wallS))} s, CPU ${med(xs.map(x => x.cpuS))} s, RSS ${med(xs.map(x => x.rssMiB))} MiB, peak ${med(xs.map(x => x.hwmMiB))} MiB`)
}
