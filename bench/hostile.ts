/**
 * The hostile-internet benchmark (issue 8): for each flood, a correct BEP 9 leecher's success
 * rate and p50/p99 while the flood runs, and the peer's RSS and CPU, for torrent-fish
 * (`node bin/torrent-fish.js -l DIR -c 200`) and the python3-libtorrent baseline side by side
 * in the same run. Every flood, the leecher and each peer are separate processes.
 *
 *   npm run bench:hostile                       every flood, a few minutes
 *   npm run bench:hostile -- --quick            smoke run (short phases)
 *   npm run bench:hostile -- --flood silent     one flood (or a,b,c)
 *
 * Prints a markdown table and notes; writes bench/results/hostile-<time>.json. See
 * docs/hostile.md for what the figures mean.
 */
import { parseArgs } from 'node:util'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { ensureCorpus } from './corpus.ts'
import { FLOODS } from './hostile/floods.ts'
import { libtorrentVersion, type PeerName } from './hostile/peers.ts'
import { runCase, type CaseResult } from './hostile/run-case.ts'
import { markdownTable, notes } from './hostile/report.ts'
import { canRaisePriority, cpuLayout, MEASURED_NICE, pinSelf } from './hostile/cpu-pin.ts'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    flood: { type: 'string' },
    peers: { type: 'string', default: 'torrent-fish,libtorrent' },
    limit: { type: 'string', default: '200' },
    'calm-seconds': { type: 'string' },
    'flood-seconds': { type: 'string' },
    'after-seconds': { type: 'string' },
    rate: { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
    'tf-bin': { type: 'string' },
    'tf-node-args': { type: 'string', default: '' },
    report: { type: 'string' },
    out: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'no-priority': { type: 'boolean', default: false },
    trace: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }
})

if (args.help) {
  console.log(`usage: node bench/hostile.ts [options]
  --quick                 short phases (calm 1 s, flood 3 s, after 1 s) for smoke runs
  --flood a,b             only these floods: ${FLOODS.map(f => f.name).join(', ')}
  --peers a,b             torrent-fish,libtorrent (default both)
  --limit N               the peers' connection limit, -c (default 200; floods scale with it)
  --calm-seconds S        leecher alone before the flood (default: the flood's duration, so the
                          calm and flood p99 come from as many exchanges)
  --flood-seconds S       flood duration (default 10)
  --after-seconds S       leecher after the flood, RSS "after" at its end (default 4)
  --rate N                leecher exchanges started per second (default 20)
  --seed N                seed of the leecher's picks and the floods' PRNGs (default 1)
  --tf-bin PATH           torrent-fish bin to run (default bin/torrent-fish.js of this checkout),
                          e.g. another worktree's, to measure other code with this bench
  --tf-node-args "FLAGS"  Node flags for the torrent-fish peer, before its bin (e.g. a V8 setting)
  --no-pin                let the scheduler place every process (default: the peer under test on a
                          core of its own, the generator, leecher and bench on the others; cpu-pin.ts)
  --no-priority           run the peer and the leecher at normal priority (default: nice -10 over other
                          users' work on the machine, when allowed; cpu-pin.ts)
  --trace DIR             record each torrent-fish row's trace in DIR/<flood>-<seed>.json: the leecher's
                          exchange phases, the peer's event-loop stalls, collections and accepts (a
                          probe loaded with --import), the kernel's TCP counters; read it with
                          node bench/hostile/trace-report.ts FILE
  --out FILE              JSON results (default bench/results/hostile-<time>.json)
  --report FILE           print the table and notes of a saved results file, run nothing`)
  process.exit(0)
}

if (args.report) {
  const saved = JSON.parse(readFileSync(args.report, 'utf8')) as { meta: Record<string, unknown>, results: CaseResult[] }
  console.log(`${args.report}: ${saved.meta.date}, commit ${saved.meta.commit}, ${saved.meta.elapsedS} s\n`)
  console.log(markdownTable(saved.results) + '\n\n' + notes(saved.results))
  process.exit(0)
}

const quick = args.quick
const seconds = (v: string | undefined, full: number, short: number): number => 1000 * Number(v ?? (quick ? short : full))
const floodMs = seconds(args['flood-seconds'], 10, 3)
// As long as the flood by default: both p99s then come from the same number of exchanges (at
// 80 calm samples against 200, the calm p99 was the calm maximum and the flood's the 2nd-worst).
const calmMs = args['calm-seconds'] !== undefined ? seconds(args['calm-seconds'], 0, 0) : floodMs
const afterMs = seconds(args['after-seconds'], 4, 1)
const limit = Number(args.limit)
const rate = Number(args.rate)
const seed = Number(args.seed)
/** Long enough for a SYN retried after a dropped one (1 s, then 3 s), short enough to end. */
const LEECHER_TIMEOUT_MS = 5000

const wanted = args.flood ? args.flood.split(',').map(s => s.trim()) : FLOODS.map(f => f.name)
const unknown = wanted.filter(n => !FLOODS.some(f => f.name === n))
if (unknown.length > 0) {
  console.error(`unknown flood ${unknown.join(', ')}; floods: ${FLOODS.map(f => f.name).join(', ')}`)
  process.exit(2)
}
const floods = FLOODS.filter(f => wanted.includes(f.name))
const lt = libtorrentVersion()
let peers = args.peers!.split(',').map(s => s.trim()) as PeerName[]
const log = (s = ''): void => { process.stdout.write(s + '\n') }
if (peers.includes('libtorrent') && !lt) {
  log('python3-libtorrent is missing (/usr/bin/python3 cannot import libtorrent): no baseline in this run')
  peers = peers.filter(p => p !== 'libtorrent')
}

const cpus = args['no-pin'] ? null : cpuLayout()
// Before any child is forked: the leecher and the generators inherit the bench's CPUs.
if (cpus) pinSelf(cpus.others)
const raised = !args['no-priority'] && canRaisePriority()

const corpus = ensureCorpus(1000, log)
// Single-piece info dicts only: libtorrent answers larger ones on its once-a-second tick
// (docs/benchmarks.md), which would set its p99 whatever the flood does.
const targets = corpus.entries.filter(e => e.s <= 16 * 1024)

const meta = {
  date: new Date().toISOString(),
  quick,
  node: process.version,
  libtorrent: lt,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  kernel: os.release(),
  commit: (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], cwd: args['tf-bin'] ? path.dirname(path.resolve(args['tf-bin'])) : undefined }).trim() } catch { return undefined } })(),
  limit,
  calmMs,
  floodMs,
  afterMs,
  leecherRate: rate,
  leecherTimeoutMs: LEECHER_TIMEOUT_MS,
  corpus: { torrents: corpus.entries.length, leecherTargets: targets.length },
  seed,
  pinned: cpus,
  /** The peer's and the leecher's nice value (0: normal priority). */
  measuredNice: raised ? MEASURED_NICE : 0
}
log(`torrent-fish hostile bench ${quick ? '(quick) ' : ''}- node ${meta.node}, libtorrent ${lt ?? 'missing'}, ${meta.cpus} CPUs, commit ${meta.commit ?? '?'}`)
log(`phases: calm ${calmMs / 1000} s, flood ${floodMs / 1000} s, after ${afterMs / 1000} s; leecher ${rate} exchanges/s (timeout ${LEECHER_TIMEOUT_MS / 1000} s); connection limit ${limit}`)
log(cpus ? `CPUs: the peer under test on ${cpus.peer}, the generator, leecher and bench on ${cpus.others}` : 'CPUs: not pinned')
log(raised ? `priority: the peer and the leecher at nice ${MEASURED_NICE}, the generator at normal priority` : 'priority: every process at normal priority')

const started = performance.now()
const results: CaseResult[] = []
for (const flood of floods) {
  for (const peer of peers) {
    if (flood.peers && !flood.peers.includes(peer)) continue
    const t0 = performance.now()
    const traceFile = args.trace && peer === 'torrent-fish' ? path.resolve(args.trace, `${flood.name}-${seed}.json`) : undefined
    if (traceFile) mkdirSync(path.dirname(traceFile), { recursive: true })
    const r = await runCase({ flood, peer, loadPath: corpus.dir, tfBin: args['tf-bin'], tfNodeArgs: args['tf-node-args'].split(/\s+/).filter(Boolean), targets, connectionLimit: limit, calmMs, floodMs, afterMs, rate, leecherTimeoutMs: LEECHER_TIMEOUT_MS, seed, quick, cpus, raised, traceFile })
    results.push(r)
    const p = r.phases
    log(`  ${flood.name} / ${peer}: ${r.died ? `DIED (${r.died.error ?? r.died.code ?? r.died.signal}), ` : ''}ok ${p.calm.ok}/${p.calm.started} calm, ${p.flood.ok}/${p.flood.started} flood, ${p.after.ok}/${p.after.started} after${r.error ? ` - ${r.error}` : ''} (${((performance.now() - t0) / 1000).toFixed(1)} s, load ${r.loadAvg1?.toFixed(1) ?? '?'})`)
  }
}

log()
log(markdownTable(results))
log()
log(notes(results))

const outFile = args.out ?? path.join(import.meta.dirname, 'results', `hostile-${meta.date.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`)
mkdirSync(path.dirname(outFile), { recursive: true })
writeFileSync(outFile, JSON.stringify({ meta: { ...meta, elapsedS: +((performance.now() - started) / 1000).toFixed(1), commands: [...new Set(results.map(r => r.command).filter(Boolean))] }, floods: floods.map(f => ({ name: f.name, what: f.what, params: f.params(limit, quick) })), results }, null, 2))
log(`\nwrote ${path.relative(process.cwd(), outFile)} (${((performance.now() - started) / 1000).toFixed(0)} s)`)
