/**
 * Torrent sources at scale (issue 11's benchmark). Prints the tables of docs/scale.md.
 *
 *   node bench/sources.ts [--count 100000] [--mix v2] [--runs 3] [--cold-runs 1]
 *                         [--shard-count 1000000] [--shard-mix v1] [--shards 4]
 *                         [--skip-shards | --only-shards] [--fish "--source-concurrency 32"]
 *
 * 1. A local HTTP server (in this process) publishes the corpus: a JSON manifest of
 *    `{url, infoHash}` and the .torrent files with ETags and 304s, keep-alive on. The
 *    torrent-fish CLI (a child process) starts with `-l <manifest>` and the default source
 *    limits (8 in flight, 1000/s per origin); timed from spawn until /health reports every
 *    torrent served: cold (empty cache), warm with the server down (everything from the
 *    cache), warm with the server up (the first poll revalidates), and the same files from a
 *    local directory (the baseline, same run). Requests and TCP connections are counted at
 *    the server, RSS and CPU read from /proc. Warm rows are repeated `--runs` times, cold
 *    ones `--cold-runs` times: medians, with min-max when repeated.
 * 2. N shards (`--shard K/N`) of a bigger corpus on one manifest, all at once: cold (each
 *    fetches only its share, the manifest stating info hashes), then restarted warm with the
 *    server up. Per instance: time to its first poll done, torrents, RSS, peak RSS, CPU.
 * Each instance runs with discovery off (no announces): this measures sources and memory.
 */
import http from 'node:http'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { ensureCorpus, type Corpus, type CorpusMix } from './corpus.ts'
import { cpuMs, memoryKiB } from './proc-stats.ts'
import { table } from './report.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const BIN = path.join(ROOT, 'bin', 'torrent-fish.js')

function arg (name: string, fallback: number): number {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
function sarg (name: string, fallback: string): string {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const COUNT = arg('--count', 100_000)
const MIX = sarg('--mix', 'v2') as CorpusMix
const RUNS = arg('--runs', 3)
const COLD_RUNS = arg('--cold-runs', 1)
const SHARD_COUNT = arg('--shard-count', 1_000_000)
const SHARD_MIX = sarg('--shard-mix', 'v1') as CorpusMix
const SHARDS = arg('--shards', 4)
const SHARD_RUNS = arg('--shard-runs', 1)
const SKIP_SHARDS = process.argv.includes('--skip-shards')
/** Extra CLI flags for every instance (e.g. "--source-concurrency 32"). */
const FISH = sarg('--fish', '').split(/\s+/).filter(Boolean)
const log = (line: string): void => { process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`) }

interface Counts { requests: number, ok: number, notModified: number, connections: number }
interface Publisher {
  url: string
  counts: Counts
  close: () => Promise<void>
}

/** Serves a corpus as a manifest plus .torrent files (read from disk per request, like a static server). */
async function publish (corpus: Corpus, port = 0): Promise<Publisher> {
  const counts: Counts = { requests: 0, ok: 0, notModified: 0, connections: 0 }
  let manifest: Buffer | null = null
  const server = http.createServer((req, res) => {
    counts.requests += 1
    const url = req.url ?? '/'
    if (url === '/manifest.json') {
      manifest ??= Buffer.from(JSON.stringify(corpus.entries.map(e => ({ url: `/t/${e.h}.torrent`, infoHash: e.h }))))
      if (req.headers['if-none-match'] === '"m1"') { counts.notModified += 1; res.writeHead(304, { ETag: '"m1"' }); return res.end() }
      counts.ok += 1
      res.writeHead(200, { 'Content-Type': 'application/json', ETag: '"m1"', 'Content-Length': manifest.length })
      return res.end(manifest)
    }
    const m = /^\/t\/([0-9a-f]{40})\.torrent$/.exec(url)
    if (!m) { res.writeHead(404); return res.end() }
    const etag = `"${m[1]}"`
    if (req.headers['if-none-match'] === etag) { counts.notModified += 1; res.writeHead(304, { ETag: etag }); return res.end() }
    readFile(path.join(corpus.dir, `${m[1]}.torrent`)).then(body => {
      counts.ok += 1
      res.writeHead(200, { 'Content-Type': 'application/x-bittorrent', ETag: etag, 'Content-Length': body.length })
      res.end(body)
    }, () => { res.writeHead(404); res.end() })
  })
  server.on('connection', () => { counts.connections += 1 })
  server.keepAliveTimeout = 30_000
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  const bound = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${bound}/manifest.json`,
    counts,
    close: () => new Promise(resolve => { server.close(() => resolve()); server.closeAllConnections() })
  }
}

interface Instance { child: ChildProcess, http: string, done: Promise<void>, stopping: boolean }

/** Starts the CLI with the default source limits; resolves once its HTTP face is up (the `http` log line). */
async function startFish (args: string[]): Promise<Instance> {
  const child = spawn(process.execPath, ['--max-semi-space-size=8', BIN, ...args, '--json', '-p', '0', '-i', '127.0.0.1', '--http', '127.0.0.1:0', '--no-dht', '--no-lsd', '--no-utp', '--no-announce', '--poll-interval', '3600', ...FISH], { stdio: ['ignore', 'pipe', 'pipe'] })
  let buffer = ''
  const done = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const httpUrl = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', d => {
      buffer += String(d)
      const m = /"event":"http".*?"url":"([^"]+)"/.exec(buffer)
      if (m) resolve(m[1])
      if (buffer.length > 1e6) buffer = buffer.slice(-1e5)
    })
    child.stderr!.on('data', d => { buffer += String(d) })
    child.once('exit', code => reject(new Error(`torrent-fish exited ${code}: ${buffer.slice(-2000)}`)))
  })
  const instance: Instance = { child, http: httpUrl, done, stopping: false }
  child.once('exit', (code, signal) => { if (!instance.stopping) log(`torrent-fish ${args.join(' ')} exited early (${code ?? signal}): ${buffer.slice(-1500)}`) })
  return instance
}

/** Polls /health until `ready(health)` (a benchmark may poll; tests may not). */
async function until (fish: Instance, ready: (h: any) => boolean, everyMs = 100): Promise<any> {
  for (;;) {
    const h = await fetch(`${fish.http}/health`).then(r => r.json()).catch(() => null)
    if (h && ready(h)) return h
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}

async function stop (fish: Instance): Promise<void> {
  fish.stopping = true
  fish.child.kill('SIGTERM')
  await fish.done
}

/** One measured start: seconds to ready, what the server saw, torrents, memory and CPU of the instance. */
interface Sample { failing: number, s: number, requests: number, notModified: number, connections: number, torrents: number, rss: number, hwm: number, cpu: number }
const COLUMNS = ['run', 'start -> all served (s)', 'requests', 'of them 304', 'connections', 'torrents served', 'RSS (MiB)', 'peak RSS (MiB)', 'CPU (s)']

async function sample (args: string[], ready: (h: any) => boolean, pub: Publisher | null, everyMs = 100): Promise<Sample & { fish: Instance }> {
  const before = pub ? { ...pub.counts } : null
  const t0 = performance.now()
  const fish = await startFish(args)
  const h = await until(fish, ready, everyMs)
  const s = (performance.now() - t0) / 1000
  const mem = memoryKiB(fish.child.pid!)
  const out = {
    fish,
    failing: (h.sources?.sources ?? []).reduce((n: number, r: { failing?: number }) => n + (r.failing ?? 0), 0) as number,
    s,
    requests: pub && before ? pub.counts.requests - before.requests : 0,
    notModified: pub && before ? pub.counts.notModified - before.notModified : 0,
    connections: pub && before ? pub.counts.connections - before.connections : 0,
    torrents: h.torrents as number,
    rss: mem.rss / 1024,
    hwm: mem.hwm / 1024,
    cpu: cpuMs(fish.child.pid!) / 1000
  }
  return out
}

const median = (v: number[]): number => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
/** "median (min-max)" over the runs, or the one value. */
function cell (v: number[], digits: number): string {
  const f = (n: number): string => digits === 0 ? Math.round(n).toLocaleString('en') : n.toFixed(digits)
  if (v.length === 1) return f(v[0])
  return `${f(median(v))} (${f(Math.min(...v))}-${f(Math.max(...v))})`
}
function row (label: string, samples: Sample[], server = true): Array<string | number> {
  const col = (k: keyof Sample, d: number): string => cell(samples.map(x => x[k]), d)
  return [`${label}${samples.length > 1 ? ` [${samples.length} runs]` : ''}`, col('s', 1), server ? col('requests', 0) : '', server ? col('notModified', 0) : '', server ? col('connections', 0) : '', col('torrents', 0), col('rss', 0), col('hwm', 0), col('cpu', 1)]
}

async function repeat (times: number, label: string, once: () => Promise<Sample>): Promise<Sample[]> {
  const out: Sample[] = []
  for (let i = 0; i < times; i++) {
    const x = await once()
    log(`${label} ${i + 1}/${times}: ${x.s.toFixed(1)} s, ${x.torrents} torrents, ${x.failing} failing, ${x.requests} requests over ${x.connections} connections, RSS ${x.rss.toFixed(0)} MiB (peak ${x.hwm.toFixed(0)}), CPU ${x.cpu.toFixed(1)} s`)
    out.push(x)
  }
  return out
}

async function single (): Promise<Array<Array<string | number>>> {
  const corpus = ensureCorpus(COUNT, log, MIX)
  const n = COUNT.toLocaleString('en')
  const states: string[] = []
  const rows: Array<Array<string | number>> = []
  try {
    let pub = await publish(corpus)
    let state = ''
    const all = (h: any): boolean => h.torrents >= COUNT
    const once = (args: string[], ready: (h: any) => boolean, p: Publisher | null) => async (): Promise<Sample> => {
      const x = await sample(args, ready, p)
      await stop(x.fish)
      return x
    }
    const cold = await repeat(COLD_RUNS, 'cold', async () => {
      state = mkdtempSync(path.join(os.tmpdir(), 'tf-bench-sources-'))
      states.push(state)
      return await once(['-l', pub.url, '--state-dir', state], all, pub)()
    })
    rows.push(row(`${n} from HTTP, cold (empty cache)`, cold))
    await pub.close()
    const args = ['-l', pub.url, '--state-dir', state]
    rows.push(row(`${n} from HTTP, warm, server down`, await repeat(RUNS, 'warm, server down', once(args, all, null)), false))
    pub = await publish(corpus, Number(new URL(pub.url).port)) // back on the same address
    // Served at once from the cache; the row ends when the first poll (index 304 + revalidations) is done.
    rows.push(row(`${n} from HTTP, warm, server up (first poll done)`, await repeat(RUNS, 'warm, server up', async () => {
      const since = Date.now()
      return await once(args, h => all(h) && h.sources?.sources?.[0]?.lastPollAt > since, pub)()
    })))
    await pub.close()
    // Baseline in the same run: the same files from a local directory (the directory loader).
    rows.push(row(`${n} from a local directory (baseline)`, await repeat(RUNS, 'local directory', once(['-l', corpus.dir], all, null)), false))
  } finally {
    for (const s of states) rmSync(s, { recursive: true, force: true })
  }
  return rows
}

async function shards (): Promise<Array<Array<string | number>>> {
  const corpus = ensureCorpus(SHARD_COUNT, log, SHARD_MIX)
  const n = SHARD_COUNT.toLocaleString('en')
  const pub = await publish(corpus)
  const rows: Array<Array<string | number>> = []
  const states = Array.from({ length: SHARDS }, (_, i) => mkdtempSync(path.join(os.tmpdir(), `tf-bench-shard${i + 1}-`)))
  /** All N at once; each row ends at that instance's first completed poll. */
  const fleet = async (label: string): Promise<void> => {
    const before = { ...pub.counts }
    const since = Date.now()
    const list = await Promise.all(states.map(async (state, i) => {
      const x = await sample(['-l', pub.url, '--state-dir', state, '--shard', `${i + 1}/${SHARDS}`], h => h.sources?.sources?.[0]?.lastPollAt > since && h.sources.sources[0].ok === true, null, 500)
      log(`${label} ${i + 1}/${SHARDS}: ${x.s.toFixed(1)} s, ${x.torrents} torrents, ${x.failing} failing, RSS ${x.rss.toFixed(0)} MiB (peak ${x.hwm.toFixed(0)}), CPU ${x.cpu.toFixed(1)} s`)
      return x
    }))
    for (const [i, x] of list.entries()) rows.push(row(`${n} in ${SHARDS} shards, ${label}: ${i + 1}/${SHARDS}`, [x], false))
    const c = { requests: pub.counts.requests - before.requests, notModified: pub.counts.notModified - before.notModified, connections: pub.counts.connections - before.connections }
    rows.push([`(${label}: all ${SHARDS} at the server)`, '', c.requests.toLocaleString('en'), c.notModified.toLocaleString('en'), c.connections.toLocaleString('en'), list.reduce((a, x) => a + x.torrents, 0).toLocaleString('en'), '', '', ''])
    await Promise.all(list.map(x => stop(x.fish)))
  }
  try {
    await fleet('cold')
    for (let r = 0; r < SHARD_RUNS; r++) await fleet(`warm, server up${SHARD_RUNS > 1 ? ` #${r + 1}` : ''}`)
  } finally {
    await pub.close()
    for (const s of states) rmSync(s, { recursive: true, force: true })
  }
  return rows
}

log(`load average ${os.loadavg().map(x => x.toFixed(1)).join(' ')}, ${os.cpus().length} cores`)
const rows = process.argv.includes('--only-shards') ? [] : await single()
if (!SKIP_SHARDS) rows.push(...await shards())
log(`load average ${os.loadavg().map(x => x.toFixed(1)).join(' ')}`)
console.log(table(COLUMNS, rows))
