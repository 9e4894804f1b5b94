/**
 * The two sides of a flood test: the attack (a worker thread running flood-worker.ts) and the
 * correct leecher (bittorrent-protocol + ut_metadata over TCP from 127.0.0.1, the pieces
 * WebTorrent uses), whose success rate and latency percentiles are what the tests assert.
 */
import { Worker } from 'node:worker_threads'
import { once } from 'node:events'
import { fetchMetadataWire } from '../../bench/wire-client.ts'
import type { FloodConfig } from './flood-worker.ts'

export interface FloodStats { connects: number, closes: number, errors: number, packets: number, bytes: number, skipped: number }

export interface Flood {
  /** Resolves when the uTP flood has sent every packet (utp-syn only). */
  done: Promise<FloodStats>
  stop (): Promise<FloodStats>
}

/** Starts an attack; resolves once its first wave is open. */
export async function startFlood (config: FloodConfig): Promise<Flood> {
  const worker = new Worker(new URL('./flood-worker.ts', import.meta.url), { workerData: config })
  const messages = new Map<string, (stats: FloodStats) => void>()
  const waitFor = (type: string): Promise<FloodStats> => new Promise(resolve => messages.set(type, resolve))
  worker.on('message', (m: { type: string, stats: FloodStats }) => messages.get(m.type)?.(m.stats))
  const failed = once(worker, 'error').then(([err]) => { throw err })
  await Promise.race([waitFor('ready'), failed])
  const done = waitFor('done')
  let stopped: Promise<FloodStats> | null = null
  return {
    done,
    stop () {
      stopped ??= (async () => {
        const s = waitFor('stopped')
        worker.postMessage('stop')
        const stats = await s
        await worker.terminate()
        return stats
      })()
      return stopped
    }
  }
}

export interface LeecherResult {
  ok: number
  failed: number
  /** Milliseconds per successful exchange, sorted. */
  latencies: number[]
  errors: Record<string, number>
  rate: number
  p50: number
  p99: number
}

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

/**
 * Runs `count` exchanges, `concurrency` at a time, or fewer if `until` resolves first, though never
 * fewer than `minCount` (so a slow, shared machine still yields a sample worth asserting on);
 * resolves with success rate and percentiles.
 */
export async function runLeecher (options: { port: number, infoHash: string, count: number, concurrency?: number, timeoutMs?: number, until?: Promise<unknown>, minCount?: number }): Promise<LeecherResult> {
  const latencies: number[] = []
  const errors: Record<string, number> = {}
  let ok = 0
  let failed = 0
  let started = 0
  let stop = false
  void options.until?.then(() => { stop = true })
  const one = async (): Promise<void> => {
    while (started < options.count && !(stop && started >= (options.minCount ?? 0))) {
      started++
      const t0 = performance.now()
      try {
        await fetchMetadataWire({ host: '127.0.0.1', port: options.port, infoHash: options.infoHash, timeoutMs: options.timeoutMs ?? 5000 })
        latencies.push(performance.now() - t0)
        ok++
      } catch (err) {
        failed++
        const code = (err as { code?: string }).code ?? (err as Error).message
        errors[code] = (errors[code] ?? 0) + 1
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, one))
  latencies.sort((a, b) => a - b)
  return { ok, failed, latencies, errors, rate: ok / Math.max(1, ok + failed), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }
}

export function describe (label: string, r: LeecherResult): string {
  return `${label}: ${r.ok}/${r.ok + r.failed} ok (${(r.rate * 100).toFixed(1)}%), p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms${r.failed ? `, errors ${JSON.stringify(r.errors)}` : ''}`
}

/** Two runs as one (latencies pooled, percentiles recomputed). */
export function merge (a: LeecherResult, b: LeecherResult): LeecherResult {
  const latencies = [...a.latencies, ...b.latencies].sort((x, y) => x - y)
  const errors = { ...a.errors }
  for (const [k, v] of Object.entries(b.errors)) errors[k] = (errors[k] ?? 0) + v
  const ok = a.ok + b.ok
  const failed = a.failed + b.failed
  return { ok, failed, latencies, errors, rate: ok / Math.max(1, ok + failed), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }
}
