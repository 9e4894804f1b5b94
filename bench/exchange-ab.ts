/**
 * Before/after in one run: torrent-fish from this checkout ("new") and from another checkout
 * of an older commit ("old", `--base DIR` with its own node_modules), beside Node's floor and
 * optionally libtorrent, all up at once. Each round measures one window against every peer,
 * in an order that rotates from round to round, so drift in the machine's background load
 * does not favour one side; the ratios new/old and x/floor are taken within each round and
 * reported as the median (min-max) over the rounds.
 *
 *   node bench/exchange-ab.ts --base /tmp/old-checkout [--concurrency 128] [--window 2]
 *     [--duration 4] [--rounds 5] [--libtorrent] [--cpu-prof DIR] [--new-node-args "FLAGS"]
 *     [--jit-warm SECONDS] [--gc]
 *
 * `--gc` runs the Node peers with `--trace-gc-nvp` and reports the bytes they allocated per
 * exchange over the whole run (V8's own count at each GC): a figure the machine's other load
 * does not move (CPU per exchange moves by a third between rounds on a shared machine).
 */
import { parseArgs } from 'node:util'
import os from 'node:os'
import path from 'node:path'
import { closeSync, fstatSync, openSync, readFileSync, readlinkSync } from 'node:fs'
import { ensureCorpus } from './corpus.ts'
import { matchingBaselineFlags, startLibtorrent, startNodeFloor, startTorrentFish, type PeerProcess } from './peers.ts'
import { runExchanges, type ExchangeRun } from './exchange-bench.ts'
import { fetchMetadata } from './bep9-client.ts'

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    concurrency: { type: 'string', default: '128' },
    window: { type: 'string', default: '2' },
    duration: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    generators: { type: 'string', default: '1' },
    libtorrent: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    /** Extra node flags for the new checkout only (e.g. a V8 heap setting under test). */
    'new-node-args': { type: 'string', default: '' },
    /**
     * Seconds of load at the first concurrency and window against every peer before the rounds:
     * V8 keeps tiering hot functions up (TurboFan) for the first ~10-15k exchanges, which
     * lands in the first rounds otherwise. 0 = only the one pass over the corpus.
     */
    'jit-warm': { type: 'string', default: '0' },
    gc: { type: 'boolean', default: false }
  }
})
if (!args.base) throw new Error('--base DIR (a checkout of the old commit with node_modules) is required')

const log = (s = ''): void => { process.stdout.write(s + '\n') }
const corpus = ensureCorpus(1000, log)
const tfArgs = matchingBaselineFlags()
const prof = (tag: string): string[] => [...(args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args['cpu-prof'], tag)}`] : []), ...(args.gc ? ['--trace-gc-nvp'] : [])]

/**
 * `--gc`: exchanges each Node peer served (the warm-up's included), and an open handle on its
 * stdout file, whose `--trace-gc-nvp` lines are counted once it has exited (V8 writes them through
 * a stdio buffer, so the file lags while the peer runs, and the bench removes it at stop).
 */
const served = new Map<string, number>()
const stdoutFd = new Map<string, number>()
/** Where the measured rounds start: each file's length then (a stdio buffer behind at most) and the exchanges so far. */
const atRounds = new Map<string, { offset: number, served: number }>()
function countServed (tag: string, n: number): void { served.set(tag, (served.get(tag) ?? 0) + n) }
/**
 * GCs in the file and the bytes allocated before them (V8's `allocated=` per GC, summed); and of
 * the scavenges, what each kept (`promoted=` + `new_space_survived=`): the bytes a scavenge
 * copies, which is what its time goes with, and what a retained allocation per exchange adds to.
 */
function gcIn (text: string): { gcs: number, bytes: number, scavenges: number, survived: number } {
  let gcs = 0
  let bytes = 0
  let scavenges = 0
  let survived = 0
  for (const m of text.matchAll(/ allocated=(\d+)/g)) { gcs++; bytes += Number(m[1]) }
  for (const m of text.matchAll(/ gc=s .*? promoted=(\d+) .*?new_space_survived=(\d+)/g)) { scavenges++; survived += Number(m[1]) + Number(m[2]) }
  return { gcs, bytes, scavenges, survived }
}

async function warm (peer: PeerProcess): Promise<number> {
  let next = 0
  let ok = 0
  const worker = async (): Promise<void> => {
    while (next < corpus.entries.length) {
      const e = corpus.entries[next++]
      try { if (await fetchMetadata({ host: '127.0.0.1', port: peer.port, infoHash: e.h, timeoutMs: 15_000 }) === e.s) ok += 1 } catch { /* not warmed */ }
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  return ok
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
const spread = (xs: number[], d: number): string => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`

const peers: Array<[string, PeerProcess]> = []
try {
  peers.push(['new', await startTorrentFish(corpus.dir, { tfArgs, nodeArgs: [...prof('new'), ...args['new-node-args'].split(' ').filter(Boolean)] })])
  peers.push(['old', await startTorrentFish(corpus.dir, { tfArgs, nodeArgs: prof('old'), entry: path.join(path.resolve(args.base), 'bench', 'tf-cli.ts') })])
  peers.push(['floor', await startNodeFloor(corpus.dir, { nodeArgs: prof('floor') })])
  if (args.libtorrent) peers.push(['libtorrent', await startLibtorrent(corpus.dir)])
  for (const [tag, p] of peers) {
    if (args.gc && tag !== 'libtorrent') stdoutFd.set(tag, openSync(readlinkSync(`/proc/${p.pid}/fd/1`), 'r'))
    const ok = await warm(p)
    countServed(tag, ok)
    log(`${tag}: warmed ${ok}/${corpus.entries.length}`)
  }
  if (Number(args['jit-warm']) > 0) {
    const c = Number(args.concurrency.split(',')[0])
    const window = Number(args.window.split(',')[0])
    for (const [tag, p] of peers) {
      const run = await runExchanges(p, { concurrency: c, generators: Number(args.generators), client: 'raw', durationMs: Number(args['jit-warm']) * 1000, warmupMs: 0, targets: corpus.entries, window })
      countServed(tag, run.exchanges)
      log(`${tag}: ${run.exchanges} exchanges of JIT warm-up (${args['jit-warm']} s at ${c} conns, window ${window || 'all'})`)
    }
  }
  log(`load average before: ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`)
  for (const [tag, fd] of stdoutFd) atRounds.set(tag, { offset: fstatSync(fd).size, served: served.get(tag)! })

  for (const window of args.window.split(',').map(Number)) {
    for (const c of args.concurrency.split(',').map(Number)) {
      const byPeer = new Map<string, ExchangeRun[]>(peers.map(([t]) => [t, []]))
      for (let r = 0; r < Number(args.rounds); r++) {
        const order = peers.map((_, i) => peers[(i + r) % peers.length])
        for (const [tag, p] of order) {
          // With --gc the window has no warm-up: every exchange of the load is in the count.
          const run = await runExchanges(p, { concurrency: c, generators: Number(args.generators), client: 'raw', durationMs: Number(args.duration) * 1000, warmupMs: args.gc ? 0 : Number(args.warmup) * 1000, targets: corpus.entries, window })
          countServed(tag, run.exchanges)
          byPeer.get(tag)!.push(run)
          log(`  ${tag} @${c} w${window || 'all'} #${r + 1}: ${run.exchangesPerSec.toFixed(0)}/s, p99 ${run.p99Ms.toFixed(1)} ms, ${run.peerCpuPerExchangeMs.toFixed(3)} ms CPU each (sys ${run.peerSysPerExchangeMs.toFixed(3)}), peer ${(run.peerCpuUtil * 100).toFixed(0)}%, gen ${(Math.max(...run.generatorCpuUtil) * 100).toFixed(0)}%, other ${(run.backgroundCores * 100).toFixed(0)}%, RSS ${(run.peerRssKiB / 1024).toFixed(0)} MiB, errors ${JSON.stringify(run.errors)}`)
        }
      }
      log(`\n${c} conns, window ${window || 'all'}, ${args.rounds} rounds (median (min-max)); load average ${os.loadavg().map(l => l.toFixed(2)).join(' ')}`)
      for (const [tag] of peers) {
        const runs = byPeer.get(tag)!
        if (args['cpu-prof']) log(`  ${tag} windows (for profile-stages --between): ${runs.map(x => x.windowUs.join('-')).join(',')}`)
        log(`  ${tag.padEnd(10)} ${spread(runs.map(x => x.exchangesPerSec), 0).padEnd(20)} exch/s   ${spread(runs.map(x => x.peerCpuPerExchangeMs), 3).padEnd(22)} ms CPU/exch   p99 ${spread(runs.map(x => x.p99Ms), 1)} ms   other ${spread(runs.map(x => x.backgroundCores * 100), 0)}%   RSS ${spread(runs.map(x => x.peerRssKiB / 1024), 0)} MiB`)
      }
      const ratio = (a: string, b: string, f: (x: ExchangeRun) => number): number[] => byPeer.get(a)!.map((x, i) => f(x) / f(byPeer.get(b)![i]))
      const cpu = (x: ExchangeRun): number => x.peerCpuPerExchangeMs
      const rate = (x: ExchangeRun): number => x.exchangesPerSec
      log(`  CPU/exch new/old ${spread(ratio('new', 'old', cpu), 2)}, new/floor ${spread(ratio('new', 'floor', cpu), 2)}, old/floor ${spread(ratio('old', 'floor', cpu), 2)}`)
      log(`  exch/s   new/old ${spread(ratio('new', 'old', rate), 2)}, new/floor ${spread(ratio('new', 'floor', rate), 2)}`)
      if (args.libtorrent) {
        log(`  vs libtorrent: CPU/exch new ${spread(ratio('new', 'libtorrent', cpu), 2)}, old ${spread(ratio('old', 'libtorrent', cpu), 2)}; exch/s new ${spread(ratio('new', 'libtorrent', rate), 2)}, old ${spread(ratio('old', 'libtorrent', rate), 2)}; p99 new ${spread(ratio('new', 'libtorrent', x => x.p99Ms), 3)}, old ${spread(ratio('old', 'libtorrent', x => x.p99Ms), 3)}`)
      }
      log()
    }
  }
} finally {
  for (const [, p] of peers) await p.stop()
}
if (args.gc) {
  log('allocated per exchange (V8\'s count at each GC): in the measured rounds, and over the whole run with start-up and loading')
  for (const [tag, fd] of stdoutFd) {
    const text = readFileSync(fd, 'latin1')
    const all = gcIn(text)
    const start = atRounds.get(tag)!
    const rounds = gcIn(text.slice(start.offset))
    closeSync(fd)
    const n = served.get(tag)!
    log(`  ${tag.padEnd(10)} rounds only ${(rounds.bytes / (n - start.served) / 1024).toFixed(1)} KiB (${rounds.gcs} GCs, ${n - start.served} exchanges); whole run ${(all.bytes / n / 1024).toFixed(1)} KiB (${all.gcs} GCs, ${(all.bytes / 2 ** 20).toFixed(0)} MiB in ${n} exchanges)`)
    const m = n - start.served
    log(`  ${''.padEnd(10)} kept by scavenges in the rounds: ${(rounds.survived / m / 1024).toFixed(2)} KiB per exchange, ${(rounds.survived / Math.max(1, rounds.scavenges) / 1024).toFixed(0)} KiB per scavenge (${rounds.scavenges} scavenges, ${(m / Math.max(1, rounds.scavenges)).toFixed(0)} exchanges each)`)
  }
}
