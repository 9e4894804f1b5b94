/**
 * The core benchmark: torrent-fish against a python3-libtorrent baseline measured in the
 * same run. `npm run bench` (full, a few minutes) or `npm run bench -- --quick` (< 1 min).
 *
 *   1. exchanges: load generators (bench/load-gen.ts, not torrent-fish) run fetch-all-metadata
 *      exchanges at 1, 16 and 128 concurrent connections against each peer holding the 1k
 *      corpus; exchanges/s, p50/p99 latency, the peer's CPU ms per exchange.
 *   2. scale: each peer loads 1k, 10k and 100k torrents; load time and RSS.
 *   3. targets: PASS/FAIL against the baseline.
 * Prints tables and writes bench/results/bench-<time>.json (and latest.json).
 */
import { parseArgs } from 'node:util'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { classCounts, ensureCorpus, type Corpus } from './corpus.ts'
import { matchingBaselineFlags, startPeer, type PeerName, type PeerProcess, type StartOptions } from './peers.ts'
import { medianRun, runExchanges, type ExchangeRun } from './exchange-bench.ts'
import { runScale, type ScaleRun } from './scale-bench.ts'
import { exchangeTable, scaleTable, targets, targetTable } from './report.ts'
import type { ClientKind } from './load-gen.ts'
import { fetchMetadata } from './bep9-client.ts'

/** Fetches every torrent of the corpus once, 16 at a time; resolves with how many verified. */
async function warmCorpus (port: number, corpus: Corpus): Promise<number> {
  let next = 0
  let ok = 0
  const worker = async (): Promise<void> => {
    while (next < corpus.entries.length) {
      const e = corpus.entries[next++]
      try { if (await fetchMetadata({ host: '127.0.0.1', port, infoHash: e.h, timeoutMs: 15_000 }) === e.s) ok += 1 } catch { /* counted as not warmed */ }
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  return ok
}

const { values: args } = parseArgs({
  allowNegative: true,
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    concurrency: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    idle: { type: 'string' },
    'idle-settle': { type: 'string' },
    client: { type: 'string', default: 'raw' },
    generators: { type: 'string', default: 'auto' },
    peers: { type: 'string', default: 'torrent-fish,libtorrent,node-floor' },
    window: { type: 'string', default: '2,0' },
    'heap-prof': { type: 'string' },
    'exchange-corpus': { type: 'string', default: '1000' },
    'skip-exchange': { type: 'boolean', default: false },
    'skip-scale': { type: 'boolean', default: false },
    'defaults-only': { type: 'boolean', default: false },
    'compare-clients': { type: 'boolean' },
    dist: { type: 'boolean', default: false },
    watch: { type: 'boolean', default: true },
    'cpu-prof': { type: 'string' },
    'tf-args': { type: 'string' },
    repeat: { type: 'string' },
    variants: { type: 'boolean' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }
})

if (args.help) {
  console.log(`usage: node bench/run.ts [options]
  --quick                 < 1 min: 2 s windows, corpora 1k and 10k (targets then judged at 10k)
  --sizes 1000,10000,100000   corpora for the scale runs
  --concurrency 1,16,128  concurrent exchanges per window
  --duration S            measured seconds per window (default 10, quick 2)
  --warmup S              warm-up seconds before each window (default 1, quick 0.5)
  --idle S                idle CPU window after loading the largest corpus with every default on (default 30, quick 5)
  --idle-settle S         wait this long after loading before the idle window (default 30, quick 0)
  --repeat N              rounds of every window (default 3, quick 1); figures are medians with min-max
  --window 2,0            metadata requests outstanding per exchange: 2 (libtorrent leechers), 0 = request-all (WebTorrent)
  --client raw|wire       leecher: hand-rolled BEP 9 (raw, default) or bittorrent-protocol + ut_metadata
  --generators auto|N     generator processes; auto adds a second one when the first is > 85% busy
  --peers a,b,c           torrent-fish,libtorrent,node-floor (node-floor: bench/ref-responder.ts, Node's floor)
  --exchange-corpus N     corpus the exchange runs fetch from (default 1000)
  --[no-]compare-clients  measure the generator's own CPU per exchange for both leechers (default: on, off with --quick)
  --dist                  run bin/torrent-fish.js (dist/ when built) instead of the sources
  --no-watch              run torrent-fish with --no-watch (default: the CLI default, watching)
  --tf-args "FLAGS"       extra torrent-fish flags (always added: --no-dht --no-lsd --no-utp, as the
                          baseline runs none of them, when this CLI has those flags)
  --[no-]variants         at the largest corpus also load torrent-fish --no-watch (default: on, off with --quick);
                          torrent-fish with every default on (and with --http) always runs at the largest corpus
  --cpu-prof DIR          write a V8 CPU profile of torrent-fish (exchange runs) to DIR
  --heap-prof DIR         write a V8 sampling heap profile of torrent-fish (exchange runs) to DIR
  --defaults-only         scale: only torrent-fish with every default on (and with --http) at the largest corpus
  --skip-exchange, --skip-scale, --out FILE`)
  process.exit(0)
}

const quick = args.quick
const list = (s: string | undefined, fallback: number[]): number[] => (s ? s.split(',').map(Number) : fallback)
const sizes = list(args.sizes, quick ? [1000, 10_000] : [1000, 10_000, 100_000])
const concurrencies = list(args.concurrency, [1, 16, 128])
const durationMs = Number(args.duration ?? (quick ? 2 : 10)) * 1000
const warmupMs = Number(args.warmup ?? (quick ? 0.5 : 1)) * 1000
/** Idle CPU window of the defaults runs at the largest corpus. */
const idleMs = Number(args.idle ?? (quick ? 5 : 30)) * 1000
const idleSettleMs = Number(args['idle-settle'] ?? (quick ? 0 : 30)) * 1000
const client = args.client as ClientKind
const windows = list(args.window, [2, 0])
const peers = args.peers!.split(',') as PeerName[]
const compareClients = args['compare-clients'] ?? !quick
const tfArgs = [...matchingBaselineFlags(args.dist), ...(args['tf-args'] ? args['tf-args'].split(/\s+/).filter(Boolean) : [])]
const startOptions: StartOptions = { dist: args.dist, watch: args.watch, tfArgs }
const variants = args.variants ?? !quick
/** A generator busier than this is likely the bottleneck: split the load over two. */
const GENERATOR_BUSY = 0.85

const log = (s = ''): void => { process.stdout.write(s + '\n') }
const started = performance.now()

function libtorrentVersion (): string {
  try { return execFileSync('/usr/bin/python3', ['-c', 'import libtorrent; print(libtorrent.__version__)'], { encoding: 'utf8' }).trim() } catch { return 'missing' }
}

function describe (c: Corpus): Record<string, unknown> {
  return { torrents: c.entries.length, classes: classCounts(c.entries), infoMiB: +(c.infoBytes / 2 ** 20).toFixed(1), fileMiB: +(c.fileBytes / 2 ** 20).toFixed(1) }
}

const meta = {
  date: new Date().toISOString(),
  quick,
  node: process.version,
  libtorrent: libtorrentVersion(),
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  torrentFish: args.dist ? 'bin/torrent-fish.js' : 'bench/tf-cli.ts (sources)',
  tfFlags: `-l DIR -p 0 -i 127.0.0.1 --json --per-ip-limit 100000 -c 100000${startOptions.watch === false ? ' --no-watch' : ''} ${tfArgs.join(' ')}`.trim(),
  client,
  durationMs,
  warmupMs,
  commit: (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim() } catch { return undefined } })()
}
log(`torrent-fish core benchmark ${quick ? '(quick) ' : ''}- node ${meta.node}, libtorrent ${meta.libtorrent}, ${meta.cpus} CPUs, ${meta.memGiB} GiB`)
log(`torrent-fish: ${meta.torrentFish} ${meta.tfFlags}`)

const corpora = new Map<number, Corpus>()
for (const n of new Set([Number(args['exchange-corpus']), ...sizes])) corpora.set(n, ensureCorpus(n, log))

// ---- 1. exchanges ----
// Every peer is started once and stays up; each round runs one window against each peer in
// turn, so the ratios compare windows measured seconds apart under the same background load.
const exchange: ExchangeRun[] = []
const probes: ExchangeRun[] = []
const rounds: ExchangeRun[] = []
const repeat = Math.max(1, Number(args.repeat ?? (quick ? 1 : 3)))
const clientComparison: Array<{ client: ClientKind, peer: string, generatorCpuPerExchangeMs: number, generatorCpuUtil: number }> = []
if (!args['skip-exchange']) {
  const corpus = corpora.get(Number(args['exchange-corpus']))!
  log(`\n== exchanges: ${corpus.entries.length} torrents (${JSON.stringify(classCounts(corpus.entries))}), ${durationMs / 1000} s per window, leecher ${client}, windows ${windows.map(w => w === 0 ? 'all' : w).join('/')}, ${repeat} round(s)`)
  const running = new Map<PeerName, PeerProcess>()
  try {
    for (const name of peers) {
      const nodeArgs = name === 'torrent-fish' && args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args['cpu-prof'])}`] : name === 'torrent-fish' && args['heap-prof'] ? ['--heap-prof', `--heap-prof-dir=${path.resolve(args['heap-prof'])}`] : undefined
      const peer = await startPeer(name, corpus.dir, { ...startOptions, nodeArgs })
      running.set(name, peer)
      // Every torrent fetched once before any window: the figures are the steady state (info
      // dicts in torrent-fish's cache, as in libtorrent's memory), not the first read of each file.
      const warmed = await warmCorpus(peer.port, corpus)
      log(`  ${name}: warmed ${warmed}/${corpus.entries.length} torrents`)
    }
    for (const window of windows) {
      for (const c of concurrencies) {
        const gensFor = new Map<PeerName, number>()
        const tries = new Map<PeerName, ExchangeRun[]>()
        for (let i = 0; i < repeat; i++) {
          for (const name of peers) {
            const peer = running.get(name)!
            let gens = gensFor.get(name) ?? (args.generators === 'auto' ? 1 : Number(args.generators))
            const opts = { concurrency: c, client, durationMs, warmupMs, targets: corpus.entries, window }
            let run = await runExchanges(peer, { ...opts, generators: gens })
            if (args.generators === 'auto' && gens === 1 && c > 1 && Math.max(...run.generatorCpuUtil) > GENERATOR_BUSY) {
              log(`  ${name} @${c} w${window || 'all'}: generator ${Math.round(run.generatorCpuUtil[0] * 100)}% busy, re-running with 2 generators`)
              probes.push(run)
              gens = 2
              run = await runExchanges(peer, { ...opts, generators: gens })
            }
            gensFor.set(name, gens)
            tries.set(name, [...(tries.get(name) ?? []), run])
            rounds.push({ ...run, round: i } as ExchangeRun)
            log(`  ${name} @${c} w${window || 'all'} #${i + 1}: ${run.exchanges} exchanges, ${run.exchangesPerSec.toFixed(0)}/s, p99 ${run.p99Ms.toFixed(1)} ms, peer ${run.peerCpuPerExchangeMs.toFixed(3)} ms CPU each, other load ${(run.backgroundCores * 100).toFixed(0)}%`)
          }
        }
        for (const name of peers) exchange.push(medianRun(tries.get(name)!))
      }
    }
    if (compareClients) {
      for (const name of peers) {
        for (const kind of ['raw', 'wire'] as ClientKind[]) {
          const r = await runExchanges(running.get(name)!, { concurrency: 16, generators: 1, client: kind, durationMs: Math.min(durationMs, 3000), warmupMs: 300, targets: corpus.entries })
          clientComparison.push({ client: kind, peer: name, generatorCpuPerExchangeMs: r.generatorCpuPerExchangeMs, generatorCpuUtil: r.generatorCpuUtil[0] })
        }
      }
    }
  } finally {
    for (const peer of running.values()) await peer.stop()
  }
  log()
  log(exchangeTable(exchange))
  if (clientComparison.length > 0) {
    log('\nleecher cost (generator CPU ms per exchange at 16 conns): ' + clientComparison.map(c => `${c.client} vs ${c.peer} ${c.generatorCpuPerExchangeMs.toFixed(3)}`).join(', '))
  }
}

// ---- 2. scale ----
const scale: ScaleRun[] = []
if (!args['skip-scale']) {
  log(`\n== scale: load time and RSS`)
  for (const n of args['defaults-only'] ? [] : sizes) {
    const corpus = corpora.get(n)!
    // The reference responder holds every info dict in memory: it is a CPU floor, not a scale peer.
    for (const name of peers.filter(p => p !== 'node-floor')) {
      const r = await runScale(name, corpus, { ...startOptions, timeoutMs: 900_000 })
      scale.push(r)
      log(`  ${name} ${n}: loaded ${r.loaded} in ${(r.loadMs / 1000).toFixed(2)} s, RSS ${(r.rssKiB / 1024).toFixed(1)} MiB, sample ${r.verified}/${r.sampled}`)
    }
  }
  if (peers.includes('torrent-fish')) {
    // Issue 12 judges memory, load time and idle CPU with every default on (TCP + uTP + DHT +
    // trackers + LSD, watching), and again with the HTTP face; the rows above match the baseline.
    const n = Math.max(...sizes)
    const defaults = { ...startOptions, tfArgs: args['tf-args'] ? args['tf-args'].split(/\s+/).filter(Boolean) : [], timeoutMs: 900_000, idleMs, idleSettleMs }
    // Each start gets its own new state directory (a cold start: no load cache), except the
    // restart, which reuses the first one's (a warm start: what a service restart sees).
    const states: string[] = []
    const fresh = (): string => { states.push(mkdtempSync(path.join(os.tmpdir(), 'tf-bench-state-'))); return states.at(-1)! }
    const first = fresh()
    for (const [variant, extra, state] of [['defaults', [], first], ['defaults, restart', [], first], ['defaults --http', ['--http', '127.0.0.1:0'], fresh()]] as Array<[string, string[], string]>) {
      const r = await runScale('torrent-fish', corpora.get(n)!, { ...defaults, tfArgs: [...defaults.tfArgs, '--state-dir', state, ...extra] }, variant)
      scale.push(r)
      log(`  torrent-fish ${variant} ${n}: loaded ${r.loaded} in ${(r.loadMs / 1000).toFixed(2)} s (${r.loadCpuS.toFixed(1)} s CPU), RSS ${(r.rssKiB / 1024).toFixed(1)} MiB, idle ${((r.idleCpu ?? NaN) * 100).toFixed(2)}% of a core`)
    }
    for (const dir of states) rmSync(dir, { recursive: true, force: true })
  }
  if (variants && peers.includes('torrent-fish') && startOptions.watch !== false) {
    // What watching the load path costs.
    const n = Math.max(...sizes)
    const r = await runScale('torrent-fish', corpora.get(n)!, { ...startOptions, watch: false, timeoutMs: 900_000 }, '--no-watch')
    scale.push(r)
    log(`  torrent-fish --no-watch ${n}: loaded ${r.loaded} in ${(r.loadMs / 1000).toFixed(2)} s, RSS ${(r.rssKiB / 1024).toFixed(1)} MiB`)
  }
  log()
  log(scaleTable(scale))
}

// ---- 3. targets ----
const verdicts = targets(exchange, scale, rounds)
if (verdicts.length > 0) {
  log('\n== targets')
  log(targetTable(verdicts))
}

const outFile = args.out ?? path.join(import.meta.dirname, 'results', `bench-${meta.date.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`)
mkdirSync(path.dirname(outFile), { recursive: true })
const result = {
  meta: { ...meta, elapsedS: +((performance.now() - started) / 1000).toFixed(1) },
  corpora: Object.fromEntries([...corpora].map(([n, c]) => [n, describe(c)])),
  exchange,
  generatorProbes: probes,
  /** Every measured window, by round: the medians above come from these. */
  rounds,
  clientComparison,
  scale,
  targets: verdicts
}
writeFileSync(outFile, JSON.stringify(result, null, 2))
writeFileSync(path.join(path.dirname(outFile), 'latest.json'), JSON.stringify(result, null, 2))
log(`\nwrote ${path.relative(process.cwd(), outFile)} (${result.meta.elapsedS} s)`)
