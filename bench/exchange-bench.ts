/**
 * The exchange benchmark: one or more load-generator processes keep N exchanges in flight
 * against a running peer for a fixed time; the peer's CPU is read from /proc just before
 * and just after the measured window (warm-up excluded).
 */
import { fork, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { cpuTimes, machineBusyMs, memoryKiB } from './proc-stats.ts'
import type { CorpusEntry, SizeClass } from './corpus.ts'
import type { ClientKind, GenConfig, GenResult } from './load-gen.ts'
import type { PeerProcess } from './peers.ts'

export interface ExchangeRun {
  peer: string
  concurrency: number
  /** Metadata requests the leecher keeps outstanding (0 = request-all). */
  window: number
  generators: number
  client: ClientKind
  exchanges: number
  errors: Record<string, number>
  wallMs: number
  exchangesPerSec: number
  p50Ms: number
  p99Ms: number
  /** p50 per size class (null when the class was not drawn). */
  p50ByClass: Record<SizeClass, number | null>
  peerCpuMs: number
  /** The headline figure: peer CPU ms / exchanges. */
  peerCpuPerExchangeMs: number
  /** The kernel's share of it (system time): the TCP stack, about the same for any peer per syscall. */
  peerSysPerExchangeMs: number
  /** Peer CPU / wall time: 1.0 = one core busy. */
  peerCpuUtil: number
  /** Each generator's CPU / wall time: near 1.0 means the generator sets the pace. */
  generatorCpuUtil: number[]
  generatorCpuPerExchangeMs: number
  /**
   * CPU the rest of the machine used during the window (busy cores minus the peer, the
   * generators and this process), in cores: anything well above 0 means other work shared
   * the CPUs and throughput and latency figures are pessimistic.
   */
  backgroundCores: number
  peerRssKiB: number
  /** The measured window on CLOCK_MONOTONIC in microseconds, the clock of V8 CPU profiles (bench/profile-stages.ts --between). */
  windowUs: [number, number]
  /** Which round of a repeated measurement (bench/run.ts --repeat). */
  round?: number
  /** For a median of several rounds: how many, and the min-max of the headline figures. */
  spread?: { rounds: number, exchangesPerSec: [number, number], p99Ms: [number, number], peerCpuPerExchangeMs: [number, number] }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const range = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)]

/**
 * The median of several rounds of one window: each headline figure is its own median (not
 * the figures of one "median round"), with min-max alongside.
 */
export function medianRun (runs: ExchangeRun[]): ExchangeRun {
  if (runs.length === 1) return runs[0]
  const pick = (f: (r: ExchangeRun) => number): number => median(runs.map(f))
  const byCpu = [...runs].sort((a, b) => a.peerCpuPerExchangeMs - b.peerCpuPerExchangeMs)[Math.floor(runs.length / 2)]
  return {
    ...byCpu,
    round: undefined,
    exchanges: pick(r => r.exchanges),
    exchangesPerSec: pick(r => r.exchangesPerSec),
    p50Ms: pick(r => r.p50Ms),
    p99Ms: pick(r => r.p99Ms),
    peerCpuPerExchangeMs: pick(r => r.peerCpuPerExchangeMs),
    peerSysPerExchangeMs: pick(r => r.peerSysPerExchangeMs),
    peerCpuUtil: pick(r => r.peerCpuUtil),
    backgroundCores: pick(r => r.backgroundCores),
    spread: {
      rounds: runs.length,
      exchangesPerSec: range(runs.map(r => r.exchangesPerSec)),
      p99Ms: range(runs.map(r => r.p99Ms)),
      peerCpuPerExchangeMs: range(runs.map(r => r.peerCpuPerExchangeMs))
    }
  }
}

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

interface Generator {
  child: ChildProcess
  next: () => Promise<any>
}

function startGenerator (): Generator {
  const child = fork(path.join(import.meta.dirname, 'load-gen.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const queue: any[] = []
  const waiting: Array<(m: any) => void> = []
  let failure: Error | null = null
  const deliver = (m: any): void => { const w = waiting.shift(); if (w) w(m); else queue.push(m) }
  child.on('message', deliver)
  child.on('exit', code => { failure = new Error(`load generator exited with ${code}`); for (const w of waiting.splice(0)) w({ type: 'error', error: failure }) })
  return {
    child,
    next: async () => {
      const m = queue.length > 0 ? queue.shift() : failure ? { type: 'error', error: failure } : await new Promise(resolve => waiting.push(resolve))
      if (m.type === 'error') throw m.error
      return m
    }
  }
}

export interface ExchangeOptions {
  concurrency: number
  generators: number
  client: ClientKind
  durationMs: number
  warmupMs: number
  targets: CorpusEntry[]
  timeoutMs?: number
  /** Metadata requests outstanding per exchange; 0 = every piece at once (default). */
  window?: number
}

/** Runs one measured window against `peer`. */
export async function runExchanges (peer: PeerProcess, options: ExchangeOptions): Promise<ExchangeRun> {
  const n = Math.max(1, Math.min(options.generators, options.concurrency))
  const gens = Array.from({ length: n }, startGenerator)
  try {
    // Split the connections between generators as evenly as possible.
    gens.forEach((g, i) => {
      const config: GenConfig = {
        host: '127.0.0.1',
        port: peer.port,
        concurrency: Math.floor(options.concurrency / n) + (i < options.concurrency % n ? 1 : 0),
        client: options.client,
        targets: options.targets,
        seed: 1000 + i,
        warmupMs: options.warmupMs,
        timeoutMs: options.timeoutMs ?? 10_000,
        window: options.window ?? 0
      }
      g.child.send({ type: 'config', ...config })
    })
    await Promise.all(gens.map(async g => await g.next()))
    const cpu0 = cpuTimes(peer.pid)
    const machine0 = machineBusyMs()
    const self0 = process.cpuUsage()
    const us0 = Number(process.hrtime.bigint() / 1000n)
    for (const g of gens) g.child.send({ type: 'go', durationMs: options.durationMs })
    const results: GenResult[] = await Promise.all(gens.map(async g => await g.next()))
    const cpu1 = cpuTimes(peer.pid)
    const us1 = Number(process.hrtime.bigint() / 1000n)
    const peerCpu = cpu1.user + cpu1.system - cpu0.user - cpu0.system
    const peerSys = cpu1.system - cpu0.system
    const machine = machineBusyMs() - machine0
    const self = process.cpuUsage(self0)
    const rss = memoryKiB(peer.pid).rss

    const all: number[] = []
    const byClass: Record<SizeClass, number[]> = { small: [], medium: [], large: [] }
    const errors: Record<string, number> = {}
    let exchanges = 0
    let genCpu = 0
    for (const r of results) {
      exchanges += r.exchanges
      genCpu += r.cpuMs
      for (const c of ['small', 'medium', 'large'] as SizeClass[]) { byClass[c].push(...r.latencies[c]); all.push(...r.latencies[c]) }
      for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
    }
    all.sort((a, b) => a - b)
    const wallMs = Math.max(...results.map(r => r.wallMs))
    const p50 = (xs: number[]): number | null => xs.length === 0 ? null : percentile(xs.sort((a, b) => a - b), 50)
    return {
      peer: peer.name,
      concurrency: options.concurrency,
      window: options.window ?? 0,
      generators: n,
      client: options.client,
      exchanges,
      errors,
      wallMs,
      exchangesPerSec: exchanges / (wallMs / 1000),
      p50Ms: percentile(all, 50),
      p99Ms: percentile(all, 99),
      p50ByClass: { small: p50(byClass.small), medium: p50(byClass.medium), large: p50(byClass.large) },
      peerCpuMs: peerCpu,
      peerCpuPerExchangeMs: exchanges > 0 ? peerCpu / exchanges : NaN,
      peerSysPerExchangeMs: exchanges > 0 ? peerSys / exchanges : NaN,
      peerCpuUtil: peerCpu / wallMs,
      generatorCpuUtil: results.map(r => r.cpuMs / r.wallMs),
      generatorCpuPerExchangeMs: exchanges > 0 ? genCpu / exchanges : NaN,
      backgroundCores: Math.max(0, machine - peerCpu - genCpu - (self.user + self.system) / 1000) / wallMs,
      peerRssKiB: rss,
      windowUs: [us0, us1]
    }
  } finally {
    for (const g of gens) {
      if (g.child.connected) g.child.send({ type: 'exit' })
      if (g.child.exitCode === null) await new Promise(resolve => { g.child.once('exit', resolve); setTimeout(() => g.child.kill('SIGKILL'), 2000).unref() })
    }
  }
}
