/**
 * One row of the hostile bench: a fresh peer, the correct leecher running throughout, and one
 * flood in between, in three phases:
 *   calm   the leecher alone (its unloaded success and latency; RSS "before")
 *   flood  the flood generator runs for its duration (peak RSS, the peer's CPU)
 *   after  the flood has stopped (recovery; RSS "after" at its end)
 * The peer's RSS is sampled from /proc every SAMPLE_MS; CPU is read at the phase edges. A peer
 * that dies is recorded with the phase it died in, and the run carries on to the end (the
 * leecher's failures are the figure).
 */
import { fork, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { cpuMs, machineBusyMs, memoryKiB } from '../proc-stats.ts'
import type { CorpusEntry } from '../corpus.ts'
import type { FloodConfig, FloodReport } from './flood-context.ts'
import type { FloodSpec } from './floods.ts'
import type { Attempts, LeecherConfig, PhaseResult } from './leecher.ts'
import { startPeer, type Death, type HostilePeer, type PeerName } from './peers.ts'
import { raisePriority, type CpuLayout } from './cpu-pin.ts'
import { processSched, schedDelta, type SchedMs } from './sched-stats.ts'
import { coreTimes, countersDelta, netCounters, type NetCounters } from './net-counters.ts'
import { writeTrace } from './trace-file.ts'

export type Phase = 'calm' | 'flood' | 'after'
const PHASES: Phase[] = ['calm', 'flood', 'after']
const SAMPLE_MS = 200
const NET_SAMPLE_MS = 100

export interface CaseOptions {
  flood: FloodSpec
  peer: PeerName
  loadPath: string
  /** torrent-fish's bin, when not this checkout's. */
  tfBin?: string
  /** Node flags for the torrent-fish peer (before its bin), e.g. to measure a V8 setting. */
  tfNodeArgs?: string[]
  targets: CorpusEntry[]
  connectionLimit: number
  calmMs: number
  floodMs: number
  afterMs: number
  /** Leecher exchanges per second. */
  rate: number
  leecherTimeoutMs: number
  seed: number
  quick: boolean
  /** Where the peer runs (the bench, leecher and generator are already on `others`); null: anywhere. */
  cpus?: CpuLayout | null
  /** The peer and the leecher at a raised priority over other users' work (cpu-pin.ts). */
  raised?: boolean
  /** Write a trace of the row here (the leecher's exchange phases, the peer probe, TCP counters). */
  traceFile?: string
}

export interface PhaseFigures {
  started: number
  ok: number
  okPct: number | null
  p50Ms: number | null
  p99Ms: number | null
  /** The slowest successful exchanges: when they started (ms into the phase) and how long they took. */
  slowest?: Array<{ atMs: number, ms: number }>
  /**
   * p99 of the exchanges started at least a second into the phase: without the burst a flood
   * opens with (its connections all arriving at once), for reading beside p99Ms.
   */
  p99AfterFirstSecondMs?: number | null
  /**
   * Time to the peer's answer, served or refused (a reset or close; timeouts are not answers),
   * p99 over the attempts started in the phase's first second and after it: for a peer that
   * refuses most newcomers, where its accept queue stood.
   */
  answerP99Ms?: { firstSecond: number | null, later: number | null }
  /**
   * Every successful exchange's latency (ms, to 0.01), in start order: for pooling the phases of
   * several runs (bench/hostile/pool.ts), whose p99 then comes from several times the exchanges.
   */
  latenciesMs?: number[]
  errors: Record<string, number>
}

export interface CaseResult {
  flood: string
  peer: PeerName
  command: string
  phases: Record<Phase, PhaseFigures>
  /** The leecher's HTTP probe (floods against --http only). */
  http?: Record<Phase, PhaseFigures>
  rssMiB: { before: number | null, peak: number | null, after: number | null }
  /** Peer CPU, % of one core: during calm, during the flood. */
  peerCpuPct: { calm: number | null, flood: number | null }
  /**
   * Peer CPU above its calm rate from the flood's start to the end of the after phase (work a
   * flood queues may be done after it stops), per flood unit (connection, datagram...).
   */
  cpuMsPerUnit: number | null
  unit: string | null
  floodReport: FloodReport | null
  /** The flood generator's CPU, % of one core over its run. */
  generatorCpuPct: number | null
  leecherCpuPct: number | null
  /** Everything else on the machine during the flood, % of one core. */
  otherCpuPct: number | null
  died: (Death & { phase: Phase, afterFloodStartS: number }) | null
  /** The machine's 1-minute load average when the flood started (2 = both cores busy). */
  loadAvg1?: number
  /** The peer's CPUs (taskset list) when pinned. */
  peerCpus?: string
  /**
   * The peer's and the leecher's threads: ms run and ms waited for a CPU while runnable, in the
   * flood's first second and over the whole flood (summed over threads).
   */
  sched?: { peer: { firstSecond: SchedMs | null, flood: SchedMs | null }, leecher: { firstSecond: SchedMs | null, flood: SchedMs | null } }
  error?: string
}

/** A generator this busy (of one core) may be what limits the flood, not the peer. */
export const GENERATOR_BUSY_PCT = 90

/** Slow exchanges kept per phase in the JSON: enough to see whether a p99 is one burst or spread out. */
const SLOWEST_KEPT = 5

function percentile (sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

function figures (a: Attempts | undefined): PhaseFigures {
  if (!a) return { started: 0, ok: 0, okPct: null, p50Ms: null, p99Ms: null, errors: {} }
  const sorted = [...a.latencies].sort((x, y) => x - y)
  const slowest = a.latencies.map((ms, i) => ({ atMs: Math.round(a.startedAtMs?.[i] ?? -1), ms: Math.round(ms * 10) / 10 }))
    .sort((x, y) => y.ms - x.ms).slice(0, SLOWEST_KEPT)
  const later = a.latencies.filter((_, i) => (a.startedAtMs?.[i] ?? 0) >= 1000).sort((x, y) => x - y)
  const answers = [...a.latencies.map((ms, i) => [a.startedAtMs?.[i] ?? 0, ms]), ...(a.refusedMs ?? []).map((ms, i) => [a.refusedAtMs[i], ms])]
  const answerP99 = (first: boolean): number | null => percentile(answers.filter(([at]) => (at < 1000) === first).map(([, ms]) => ms).sort((x, y) => x - y), 99)
  return { started: a.started, ok: a.ok, okPct: a.started ? (100 * a.ok) / a.started : null, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), slowest, p99AfterFirstSecondMs: percentile(later, 99), answerP99Ms: { firstSecond: answerP99(true), later: answerP99(false) }, latenciesMs: a.latencies.map(ms => Math.round(ms * 100) / 100), errors: a.errors }
}

/** A forked child speaking the {type: ...} IPC protocol, with a next-message helper. */
function child (file: string, ownSession = false): { proc: ChildProcess, next: (timeoutMs: number) => Promise<any> } {
  const proc = fork(path.join(import.meta.dirname, file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(ownSession ? { detached: true } : {}) })
  const queue: any[] = []
  const waiting: Array<(m: any) => void> = []
  const deliver = (m: any): void => { const w = waiting.shift(); if (w) w(m); else queue.push(m) }
  proc.on('message', deliver)
  proc.on('exit', code => deliver({ type: 'exit', code }))
  return {
    proc,
    next: (timeoutMs) => {
      if (queue.length > 0) return Promise.resolve(queue.shift())
      return new Promise(resolve => {
        const t = setTimeout(() => { waiting.splice(waiting.indexOf(w), 1); resolve({ type: 'timeout' }) }, timeoutMs)
        const w = (m: any): void => { clearTimeout(t); resolve(m) }
        waiting.push(w)
      })
    }
  }
}

async function end (proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise(resolve => proc.once('exit', resolve))
  if (proc.connected) proc.disconnect()
  const t = setTimeout(() => proc.kill('SIGKILL'), 2000)
  await exited
  clearTimeout(t)
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const procCpu = (pid: number | undefined): number | null => { try { return pid ? cpuMs(pid) : null } catch { return null } }

export async function runCase (o: CaseOptions): Promise<CaseResult> {
  const blank = (): Record<Phase, PhaseFigures> => ({ calm: figures(undefined), flood: figures(undefined), after: figures(undefined) })
  const result: CaseResult = {
    flood: o.flood.name,
    peer: o.peer,
    command: '',
    phases: blank(),
    rssMiB: { before: null, peak: null, after: null },
    peerCpuPct: { calm: null, flood: null },
    cpuMsPerUnit: null,
    unit: null,
    floodReport: null,
    generatorCpuPct: null,
    leecherCpuPct: null,
    otherCpuPct: null,
    died: null
  }
  // Fork the leecher and the flood generator while the peer starts: Node's start-up is the
  // slowest part of a short run. They wait for their configs.
  // A raised leecher leads a session of its own, so raising it leaves the generator's as it is.
  const leecher = child('leecher.ts', o.raised)
  const flood = child('flood-child.ts')
  let peer: HostilePeer
  try {
    peer = await startPeer(o.peer, { loadPath: o.loadPath, tfBin: o.tfBin, nodeArgs: o.tfNodeArgs, connectionLimit: o.connectionLimit, http: o.flood.http, cpus: o.cpus?.peer, raised: o.raised, ...(o.traceFile ? { traceFile: `${o.traceFile}.peer` } : {}) })
  } catch (err) {
    result.error = `peer did not start: ${(err as Error).message.split('\n')[0]}`
    await Promise.all([end(leecher.proc), end(flood.proc)])
    return result
  }
  result.command = peer.command
  // RSS and CPU samples: the last good CPU reading stands in for a peer that has died.
  const samples: Array<{ t: number, rssKiB: number }> = []
  let lastPeerCpu = procCpu(peer.pid) ?? 0
  const sample = (): void => {
    if (peer.died) return
    try {
      samples.push({ t: performance.now(), rssKiB: memoryKiB(peer.pid).rss })
      lastPeerCpu = cpuMs(peer.pid)
    } catch { /* exited between the check and the read */ }
  }
  const sampler = setInterval(sample, SAMPLE_MS)
  // Traced: the TCP counters every NET_SAMPLE_MS, kept when they moved (which second dropped SYNs).
  // And the peer's core: [epoch ms, its busy, softirq and steal ms, the peer's CPU ms] per sample.
  const netTimeline: Array<[number, NetCounters]> = []
  const coreTimeline: Array<[number, number, number, number, number]> = []
  const peerCore = o.cpus && /^\d+$/.test(o.cpus.peer) ? Number(o.cpus.peer) : -1
  let lastNet = o.traceFile ? netCounters() : null
  let lastCore = peerCore >= 0 ? coreTimes(peerCore) : null
  let lastPeerMs = procCpu(peer.pid)
  const netSampler = o.traceFile
    ? setInterval(() => {
      const at = Math.round(performance.timeOrigin + performance.now())
      const now = netCounters()
      const d = countersDelta(lastNet, now)
      if (d && Object.keys(d).length > 0) netTimeline.push([at, d])
      lastNet = now
      const core = peerCore >= 0 ? coreTimes(peerCore) : null
      const peerMs = procCpu(peer.pid)
      if (core && lastCore && peerMs !== null && lastPeerMs !== null) coreTimeline.push([at, core.busy - lastCore.busy, core.softirq - lastCore.softirq, core.steal - lastCore.steal, peerMs - lastPeerMs])
      lastCore = core
      lastPeerMs = peerMs
    }, NET_SAMPLE_MS)
    : null
  const edges: Partial<Record<Phase | 'end', { t: number, peer: number, leecher: number | null, machine: number, self: number, net: NetCounters | null }>> = {}
  let leecherTrace: unknown = null
  const edge = (name: Phase | 'end'): void => {
    sample()
    const self = process.cpuUsage()
    edges[name] = { t: performance.now(), peer: lastPeerCpu, leecher: procCpu(leecher.proc.pid), machine: machineBusyMs(), self: (self.user + self.system) / 1000, net: o.traceFile ? netCounters() : null }
  }
  try {
    const config: LeecherConfig = { host: '127.0.0.1', port: peer.port, rate: o.rate, timeoutMs: o.leecherTimeoutMs, targets: o.targets, seed: o.seed, ...(o.traceFile ? { trace: true } : {}), ...(o.flood.http && peer.httpUrl ? { httpUrl: peer.httpUrl } : {}) }
    leecher.proc.send({ type: 'config', ...config })
    const ready = await leecher.next(30_000)
    if (ready.type !== 'ready') throw new Error(`leecher: ${ready.message ?? ready.type}`)
    if (o.raised && leecher.proc.pid) raisePriority(leecher.proc.pid)

    const floodConfig: FloodConfig = {
      module: o.flood.module,
      host: '127.0.0.1',
      port: peer.port,
      ...(peer.httpUrl ? { httpPort: Number(new URL(peer.httpUrl).port) } : {}),
      infoHashes: o.targets.slice(0, 64).map(t => t.h),
      durationMs: o.floodMs,
      seed: o.seed,
      params: o.flood.params(o.connectionLimit, o.quick)
    }
    flood.proc.send({ type: 'config', config: floodConfig })
    const floodReady = await flood.next(30_000)
    if (floodReady.type !== 'ready') throw new Error(`flood ${o.flood.name}: ${floodReady.message ?? floodReady.type}`)

    // ---- calm ----
    leecher.proc.send({ type: 'phase', name: 'calm' })
    edge('calm')
    await sleep(o.calmMs)

    // ---- flood ----
    result.loadAvg1 = os.loadavg()[0]
    if (o.cpus) result.peerCpus = o.cpus.peer
    leecher.proc.send({ type: 'phase', name: 'flood' })
    edge('flood')
    const sched0 = { peer: processSched(peer.pid), leecher: processSched(leecher.proc.pid) }
    let sched1: typeof sched0 | null = null
    const firstSecond = setTimeout(() => { sched1 = { peer: processSched(peer.pid), leecher: processSched(leecher.proc.pid) } }, 1000)
    flood.proc.send({ type: 'go' })
    const done = await flood.next(o.floodMs + 30_000)
    clearTimeout(firstSecond)
    const sched2 = { peer: processSched(peer.pid), leecher: processSched(leecher.proc.pid) }
    const s1 = sched1 as typeof sched0 | null
    result.sched = {
      peer: { firstSecond: schedDelta(sched0.peer, s1?.peer ?? null), flood: schedDelta(sched0.peer, sched2.peer) },
      leecher: { firstSecond: schedDelta(sched0.leecher, s1?.leecher ?? null), flood: schedDelta(sched0.leecher, sched2.leecher) }
    }
    if (done.type === 'result') result.floodReport = done.report as FloodReport
    else result.error = `flood ${o.flood.name}: ${done.message ?? done.type}`

    // ---- after ----
    leecher.proc.send({ type: 'phase', name: 'after' })
    edge('after')
    await sleep(o.afterMs)
    edge('end')
    if (!peer.died) result.rssMiB.after = memoryKiB(peer.pid).rss / 1024

    leecher.proc.send({ type: 'stop' })
    const res = await leecher.next(o.leecherTimeoutMs + 10_000)
    if (res.type === 'result') {
      leecherTrace = res.trace ?? null
      const phases = res.phases as Record<Phase, PhaseResult>
      for (const p of PHASES) result.phases[p] = figures(phases[p]?.bep9)
      if (o.flood.http) {
        result.http = blank()
        for (const p of PHASES) result.http[p] = figures(phases[p]?.http)
      }
    } else {
      result.error = `leecher: ${res.type}`
    }
  } catch (err) {
    result.error = (err as Error).message
  } finally {
    clearInterval(sampler)
    if (netSampler) clearInterval(netSampler)
    await Promise.all([end(flood.proc), end(leecher.proc)])
    await peer.stop()
    if (o.traceFile) writeTrace(o.traceFile, { flood: o.flood.name, seed: o.seed, edges, netTimeline, coreTimeline, leecher: leecherTrace })
  }

  // ---- figures ----
  const e = edges
  const before = samples.filter(s => e.flood && s.t <= e.flood.t)
  // Peak from the flood's start to the end: a backlog the flood left may peak after it.
  const during = samples.filter(s => e.flood && s.t > e.flood.t)
  if (before.length) result.rssMiB.before = before[before.length - 1].rssKiB / 1024
  if (during.length) result.rssMiB.peak = Math.max(...during.map(s => s.rssKiB)) / 1024
  if (e.calm && e.flood && e.after) {
    const calmWall = e.flood.t - e.calm.t
    const floodWall = e.after.t - e.flood.t
    const calmRate = (e.flood.peer - e.calm.peer) / calmWall
    const floodCpu = e.after.peer - e.flood.peer
    result.peerCpuPct = { calm: 100 * calmRate, flood: (100 * floodCpu) / floodWall }
    const report = result.floodReport
    if (report) {
      result.unit = report.unit
      const endT = e.end?.t ?? e.after.t
      const endCpu = e.end?.peer ?? e.after.peer
      const excess = endCpu - e.flood.peer - calmRate * (endT - e.flood.t)
      if (report.units > 0) result.cpuMsPerUnit = Math.max(0, excess) / report.units
      result.generatorCpuPct = (100 * report.cpuMs) / report.wallMs
    }
    const leecherCpu = e.after.leecher !== null && e.flood.leecher !== null ? e.after.leecher - e.flood.leecher : 0
    result.leecherCpuPct = (100 * leecherCpu) / floodWall
    const machine = e.after.machine - e.flood.machine
    const self = e.after.self - e.flood.self
    result.otherCpuPct = Math.max(0, (100 * (machine - floodCpu - (report?.cpuMs ?? 0) - leecherCpu - self)) / floodWall)
  }
  if (peer.died) {
    const at = peer.died.at
    const phase: Phase = e.after && at >= e.after.t ? 'after' : e.flood && at >= e.flood.t ? 'flood' : 'calm'
    result.died = { ...peer.died, phase, afterFloodStartS: e.flood ? (at - e.flood.t) / 1000 : 0 }
  }
  return result
}
