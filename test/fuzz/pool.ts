/**
 * Runs a fuzz job across worker threads and merges their reports. Each worker takes the case
 * indexes i with i % workers === w, so a run is the same set of cases whatever the worker
 * count, and any case replays alone from (seed, index). A worker that dies (out of its memory
 * cap: unbounded growth; or any crash) is a failure of the run, not of the test runner.
 */
import { Worker } from 'node:worker_threads'
import type { SessionFuzzReport } from './session-fuzz.ts'
import type { ParserFuzzReport } from './parser-fuzz.ts'

export interface FuzzJob {
  kind: 'session' | 'parser'
  seed: number
  seconds?: number
  runs?: number
  workers?: number
  only?: number[]
  /** Old-generation cap per worker: growth without bound ends the worker (and fails the run). */
  maxHeapMiB?: number
}

export type Report = (SessionFuzzReport | ParserFuzzReport) & { workerErrors: string[] }

function merge (reports: Array<SessionFuzzReport | ParserFuzzReport>): SessionFuzzReport | ParserFuzzReport {
  const out: any = { ...reports[0], failures: [], kinds: {} }
  for (const key of Object.keys(out)) if (typeof out[key] === 'number' && key !== 'seed') out[key] = 0
  out.closes = {}
  for (const r of reports as any[]) {
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === 'number' && k !== 'seed') out[k] = k === 'ms' || k === 'slowestMs' || k === 'heapUsedMiB' ? Math.max(out[k], v) : out[k] + v
    }
    out.failures.push(...r.failures)
    for (const [k, v] of Object.entries(r.kinds as Record<string, number>)) out.kinds[k] = (out.kinds[k] ?? 0) + v
    for (const [k, v] of Object.entries((r.closes ?? {}) as Record<string, number>)) out.closes[k] = (out.closes[k] ?? 0) + v
  }
  if (reports[0] && !('closes' in reports[0])) delete out.closes
  out.failures.sort((a: any, b: any) => a.index - b.index)
  return out
}

export async function runFuzz (job: FuzzJob, onProgress?: (worker: number, report: any) => void): Promise<Report> {
  const workers = job.only ? 1 : Math.max(1, job.workers ?? 1)
  const errors: string[] = []
  const reports = await Promise.all(Array.from({ length: workers }, (_, w) => new Promise<SessionFuzzReport | ParserFuzzReport | null>(resolve => {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), {
      workerData: { kind: job.kind, seed: job.seed, seconds: job.seconds, runs: job.runs === undefined ? undefined : Math.ceil(job.runs / workers), worker: w, workers, only: job.only },
      resourceLimits: { maxOldGenerationSizeMb: job.maxHeapMiB ?? 256 },
      stdout: false,
      stderr: false
    })
    let done: SessionFuzzReport | ParserFuzzReport | null = null
    worker.on('message', (m: { type: string, report: any }) => {
      if (m.type === 'done') done = m.report
      else onProgress?.(w, m.report)
    })
    worker.on('error', (err: Error & { code?: string }) => {
      errors.push(`worker ${w}: ${err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `ran out of its ${job.maxHeapMiB ?? 256} MiB heap cap (unbounded growth?)` : `${err.name}: ${err.message}`}`)
    })
    worker.on('exit', code => {
      if (done === null && errors.length === 0) errors.push(`worker ${w} exited with code ${code} before reporting`)
      resolve(done)
    })
  })))
  const got = reports.filter((r): r is SessionFuzzReport | ParserFuzzReport => r !== null)
  const merged = got.length > 0 ? merge(got) : ({ seed: job.seed, cases: 0, failures: [], kinds: {}, ms: 0 } as unknown as SessionFuzzReport)
  return { ...merged, workerErrors: errors }
}

/** One paragraph per failing case, with the command that replays it. */
export function describeFailures (kind: string, report: Report, limit = 10): string {
  const lines: string[] = []
  for (const e of report.workerErrors) lines.push(e)
  for (const [k, n] of Object.entries(report.kinds).sort((a, b) => b[1] - a[1])) lines.push(`${n}x ${k}`)
  for (const f of report.failures.slice(0, limit)) {
    lines.push(`case ${f.index}${'mode' in f ? ` (${(f as { mode: string }).mode})` : ''}: ${f.problems.join('; ')}`)
    lines.push(`  replay: npm run fuzz -- ${kind} --seed ${f.seed} --case ${f.index}`)
    lines.push(`  input: ${f.inputHex.slice(0, 400)}${f.inputHex.length > 400 ? '...' : ''}`)
  }
  return lines.join('\n')
}
