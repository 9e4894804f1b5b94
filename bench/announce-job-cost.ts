/**
 * CPU per announce job in the scheduler itself: N torrents (default 100k) with one target that
 * answers at once, at the coverage planner's cap (200/s, the idle steady state at 100k) and
 * flat out, twice: a target called once per announce (a tracker's path: timeout, AbortSignal
 * and promise per announce) and a batching one (`announceBatch`, LSD's path: one call per
 * pacer pass), without the socket. Prints the process's CPU per job and the % of a core at 200/s.
 *
 *   node bench/announce-job-cost.ts [torrents=100000] [seconds=10]
 */
import { createHash } from 'node:crypto'
import { collectGarbage as collect } from './collect-garbage.ts'
import { AnnounceScheduler } from '../src/announce/scheduler.ts'
import type { AnnounceOutcome, AnnounceTarget } from '../src/announce/target.ts'

const COUNT = Number(process.argv[2] ?? 100_000)
const SECONDS = Number(process.argv[3] ?? 10)

const single: AnnounceTarget = {
  key: 'instant',
  maxInFlight: 48,
  defaultIntervalMs: 300_000,
  sendsStopped: false,
  announce: async (): Promise<AnnounceOutcome> => ({ peers: [] })
}
const batching: AnnounceTarget = { ...single, key: 'batch', announceBatch: async (): Promise<AnnounceOutcome> => ({ peers: [] }) }

// Real info hashes are uniformly random; the key table probes by their first bytes.
const keys = Array.from({ length: COUNT }, (_, i) => createHash('sha1').update(String(i)).digest('hex'))
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }

async function run (target: AnnounceTarget, rate: number): Promise<{ jobs: number, cpuMs: number, wallMs: number }> {
  const scheduler = new AnnounceScheduler({ rate, startJitterMs: 0 })
  for (let i = 0; i < COUNT; i++) scheduler.add(keys[i], [target])
  scheduler.trim()
  await new Promise(resolve => setTimeout(resolve, 1000)) // past the start
  // The garbage of adding N torrents is collected before the window starts, not inside it: else
  // a full GC lands in some windows and not others, and the paced figure moved by half between runs.
  collect()
  const a0 = scheduler.stats().announces
  const c0 = cpuMs()
  const t0 = performance.now()
  await new Promise(resolve => setTimeout(resolve, SECONDS * 1000))
  const jobs = scheduler.stats().announces - a0
  const out = { jobs, cpuMs: cpuMs() - c0, wallMs: performance.now() - t0 }
  scheduler.removeAllListeners()
  const closing = scheduler.close()
  await closing
  return out
}

/** Flat out: CPU until every torrent has been announced once (no timers between jobs). */
async function flatOut (target: AnnounceTarget): Promise<{ jobs: number, cpuMs: number, wallMs: number }> {
  const scheduler = new AnnounceScheduler({ rate: 1_000_000, startJitterMs: 0 })
  const c0 = cpuMs()
  const t0 = performance.now()
  for (let i = 0; i < COUNT; i++) scheduler.add(keys[i], [target])
  const addMs = cpuMs() - c0
  await new Promise<void>(resolve => {
    const check = (): void => { if (scheduler.stats().announcedOnce >= COUNT) resolve(); else setTimeout(check, 5) }
    check()
  })
  const out = { jobs: COUNT, cpuMs: cpuMs() - c0 - addMs, wallMs: performance.now() - t0 }
  await scheduler.close()
  return out
}

for (const target of [single, batching]) {
  const name = target.announceBatch ? 'batching target (one call per pass)' : 'one call per announce'
  const paced = await run(target, 200)
  console.log(`${name}, at 200/s: ${paced.jobs} jobs in ${(paced.wallMs / 1000).toFixed(1)} s, ${(1000 * paced.cpuMs / paced.jobs).toFixed(1)} us of CPU per job, ${(100 * paced.cpuMs / paced.wallMs).toFixed(2)}% of a core`)
  const flat = await flatOut(target)
  console.log(`${name}, flat out: ${flat.jobs} jobs, ${(1000 * flat.cpuMs / flat.jobs).toFixed(1)} us of CPU per job (timers and wake-ups amortised away)`)
}
