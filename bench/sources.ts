/**
 * Torrent sources at scale (issue 11). Prints a table for docs/scale.md.
 *
 *   node bench/sources.ts [--count 100000] [--shard-count 100000] [--shards 4] [--skip-shards | --only-shards]
 *   (the issue asks for 4 shards of 1M: `--shard-count 1000000`, which takes long on 2 cores)
 *
 * 1. A local HTTP server (in this process) publishes the benchmark corpus: a JSON manifest of
 *    `{url, infoHash}` and the .torrent files with ETags and 304s. The torrent-fish CLI (a
 *    child process, run from src/) is started with `-l <manifest>`; timed from spawn until
 *    /health reports every torrent served: cold (empty cache), warm with the server down
 *    (everything from the cache), warm with the server up (the first poll revalidates).
 *    Requests are counted at the server; RSS is read from /proc.
 * 2. N shards (`--shard K/N`) of a bigger corpus on one manifest, in parallel: time to all
 *    served and RSS per instance. The manifest states info hashes, so each instance fetches
 *    only its own quarter.
 * Each instance runs with discovery off (no announces): this measures sources and memory.
 */
import http from 'node:http'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { ensureCorpus, type Corpus } from './corpus.ts'
import { memoryKiB } from './proc-stats.ts'
import { table } from './report.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const BIN = path.join(ROOT, 'bin', 'torrent-fish.js')

function arg (name: string, fallback: number): number {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const COUNT = arg('--count', 100_000)
const SHARD_COUNT = arg('--shard-count', 100_000)
const SHARDS = arg('--shards', 4)
const SKIP_SHARDS = process.argv.includes('--skip-shards')
const log = (line: string): void => { process.stderr.write(line + '\n') }

interface Publisher {
  url: string
  counts: { requests: number, ok: number, notModified: number }
  close: () => Promise<void>
}

/** Serves a corpus as a manifest plus .torrent files (read from disk per request, like a static server). */
async function publish (corpus: Corpus, port = 0): Promise<Publisher> {
  const counts = { requests: 0, ok: 0, notModified: 0 }
  let manifest: Buffer | null = null
  const server = http.createServer((req, res) => {
    counts.requests += 1
    const url = req.url ?? '/'
    if (url === '/manifest.json') {
      manifest ??= Buffer.from(JSON.stringify(corpus.entries.map(e => ({ url: `/t/${e.h}.torrent`, infoHash: e.h }))))
      if (req.headers['if-none-match'] === '"m1"') { counts.notModified += 1; res.writeHead(304, { ETag: '"m1"' }); return res.end() }
      counts.ok += 1
      res.writeHead(200, { 'Content-Type': 'application/json', ETag: '"m1"' })
      return res.end(manifest)
    }
    const m = /^\/t\/([0-9a-f]{40})\.torrent$/.exec(url)
    if (!m) { res.writeHead(404); return res.end() }
    const etag = `"${m[1]}"`
    if (req.headers['if-none-match'] === etag) { counts.notModified += 1; res.writeHead(304, { ETag: etag }); return res.end() }
    let body: Buffer
    try { body = readFileSync(path.join(corpus.dir, `${m[1]}.torrent`)) } catch { res.writeHead(404); return res.end() }
    counts.ok += 1
    res.writeHead(200, { 'Content-Type': 'application/x-bittorrent', ETag: etag, 'Content-Length': body.length })
    res.end(body)
  })
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

/** Starts the CLI; resolves once its HTTP face is up (the `http` log line). */
async function startFish (args: string[]): Promise<Instance> {
  const child = spawn(process.execPath, ['--max-semi-space-size=8', BIN, ...args, '--json', '-p', '0', '-i', '127.0.0.1', '--http', '127.0.0.1:0', '--no-dht', '--no-lsd', '--no-utp', '--no-announce', '--poll-interval', '3600', '--source-rate', '100000', '--source-concurrency', '32'], { stdio: ['ignore', 'pipe', 'pipe'] })
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
async function until (fish: Instance, ready: (h: any) => boolean): Promise<any> {
  for (;;) {
    const h = await fetch(`${fish.http}/health`).then(r => r.json()).catch(() => null)
    if (h && ready(h)) return h
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

async function stop (fish: Instance): Promise<void> {
  fish.stopping = true
  fish.child.kill('SIGTERM')
  await fish.done
}

const mib = (kib: number): string => (kib / 1024).toFixed(0)

async function single (): Promise<Array<Array<string | number>>> {
  const corpus = ensureCorpus(COUNT, log)
  const state = mkdtempSync(path.join(os.tmpdir(), 'tf-bench-sources-'))
  const rows: Array<Array<string | number>> = []
  try {
    let pub = await publish(corpus)
    const args = ['-l', pub.url, '--state-dir', state]
    const run = async (label: string, ready: (h: any) => boolean, up: boolean): Promise<void> => {
      const before = { ...pub.counts }
      const t0 = performance.now()
      const fish = await startFish(args)
      const h = await until(fish, ready)
      const ms = performance.now() - t0
      const mem = memoryKiB(fish.child.pid!)
      rows.push([`${COUNT.toLocaleString('en')} from HTTP, ${label}`, (ms / 1000).toFixed(1), up ? pub.counts.requests - before.requests : 0, up ? pub.counts.notModified - before.notModified : 0, h.torrents, mib(mem.rss), mib(mem.hwm)])
      log(`${label}: ${(ms / 1000).toFixed(1)} s, ${h.torrents} torrents, RSS ${mib(mem.rss)} MiB`)
      await stop(fish)
    }
    await run('cold (empty cache)', h => h.torrents >= COUNT, true)
    await pub.close()
    await run('warm, server down', h => h.torrents >= COUNT, false)
    pub = await publish(corpus, Number(new URL(pub.url).port)) // back on the same address
    // Served at once from the cache; the row ends when the first poll (index 304 + revalidations) is done.
    const since = Date.now()
    await run('warm, server up (first poll done)', h => h.torrents >= COUNT && h.sources?.sources?.[0]?.lastPollAt > since, true)
    await pub.close()
    // Baseline in the same run: the same files from a local directory (the directory loader).
    const t0 = performance.now()
    const fish = await startFish(['-l', corpus.dir])
    const h = await until(fish, x => x.torrents >= COUNT)
    const ms = performance.now() - t0
    const mem = memoryKiB(fish.child.pid!)
    rows.push([`${COUNT.toLocaleString('en')} from a local directory (baseline)`, (ms / 1000).toFixed(1), 0, 0, h.torrents, mib(mem.rss), mib(mem.hwm)])
    await stop(fish)
  } finally {
    rmSync(state, { recursive: true, force: true })
  }
  return rows
}

async function shards (): Promise<Array<Array<string | number>>> {
  const corpus = ensureCorpus(SHARD_COUNT, log)
  const pub = await publish(corpus)
  const rows: Array<Array<string | number>> = []
  const states: string[] = []
  try {
    const t0 = performance.now()
    const list = await Promise.all(Array.from({ length: SHARDS }, async (_, i) => {
      const state = mkdtempSync(path.join(os.tmpdir(), `tf-bench-shard${i + 1}-`))
      states.push(state)
      const fish = await startFish(['-l', pub.url, '--state-dir', state, '--shard', `${i + 1}/${SHARDS}`])
      const h = await until(fish, x => x.sources?.sources?.[0]?.lastOkAt > 0)
      return { fish, h, ms: performance.now() - t0 }
    }))
    for (const [i, { fish, h, ms }] of list.entries()) {
      const mem = memoryKiB(fish.child.pid!)
      rows.push([`${SHARD_COUNT.toLocaleString('en')} in ${SHARDS} shards: ${i + 1}/${SHARDS}, cold`, (ms / 1000).toFixed(1), '', '', h.torrents, mib(mem.rss), mib(mem.hwm)])
    }
    rows.push([`(all ${SHARDS} shards: requests at the server)`, '', pub.counts.requests, pub.counts.notModified, list.reduce((n, x) => n + x.h.torrents, 0), '', ''])
    await Promise.all(list.map(x => stop(x.fish)))
  } finally {
    await pub.close()
    for (const s of states) rmSync(s, { recursive: true, force: true })
  }
  return rows
}

const rows = process.argv.includes('--only-shards') ? [] : await single()
if (!SKIP_SHARDS) rows.push(...await shards())
console.log(table(['run', 'start -> all served (s)', 'requests', 'of them 304', 'torrents served', 'RSS (MiB)', 'peak RSS (MiB)'], rows))
