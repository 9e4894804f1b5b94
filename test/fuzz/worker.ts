/**
 * One fuzz worker thread: runs its share of a session fuzz run (case indexes i with
 * i % workers === worker) or a parser fuzz run, and posts the report. A worker has its own
 * process-level `uncaughtException`, so a throw out of the session is caught here and
 * pinned on its case instead of taking the test runner down.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { runSessionFuzz } from './session-fuzz.ts'
import { runParserFuzz } from './parser-fuzz.ts'

const job = workerData as { kind: 'session' | 'parser', seed: number, seconds?: number, runs?: number, worker: number, workers: number, only?: number[] }
const progress = (r: unknown): void => parentPort!.postMessage({ type: 'progress', report: r })
const report = job.kind === 'session'
  ? await runSessionFuzz(job, progress)
  : await runParserFuzz(job, progress)
parentPort!.postMessage({ type: 'done', report })
