/**
 * Each announce job's last result, kept without an object per job: its time and counts in the
 * job table's columns, the rest (ok, event, code, message, interval) as a shape interned once
 * (100k torrents that failed the same way share one). Isomorphic.
 */
import { J_HAS_LAST, type JobTable } from './job-table.ts'
import type { AnnounceEvent } from './target.ts'
import type { AnnounceResult } from './scheduler-options.ts'

/** Distinct result shapes interned; beyond this, results are kept whole. */
const MAX_SHAPES = 4096

/** What a job's last result shares with many others: everything but its time and counts. */
interface ResultShape {
  ok: boolean
  event: AnnounceEvent
  code?: string
  message?: string
  intervalMs?: number
}

export class LastResults {
  private readonly jobs: JobTable
  private readonly shapes: ResultShape[] = []
  private readonly shapeIds = new Map<string, number>()
  /** Last results that did not fit the interned shapes, by job. */
  private readonly odd = new Map<number, AnnounceResult>()

  constructor (jobs: JobTable) { this.jobs = jobs }

  set (j: number, r: AnnounceResult): void {
    const jobs = this.jobs
    jobs.flags[j] |= J_HAS_LAST
    jobs.lastAt[j] = r.at
    jobs.lastPeers[j] = r.peers ?? -1
    jobs.lastSeeders[j] = r.seeders ?? -1
    jobs.lastLeechers[j] = r.leechers ?? -1
    const key = `${r.ok ? 1 : 0}${r.event}\n${r.intervalMs ?? ''}\n${r.code ?? ''}\n${r.message ?? ''}`
    let id = this.shapeIds.get(key)
    if (id === undefined && this.shapes.length < MAX_SHAPES) {
      id = this.shapes.length
      this.shapes.push({ ok: r.ok, event: r.event, ...(r.code !== undefined ? { code: r.code } : {}), ...(r.message !== undefined ? { message: r.message } : {}), ...(r.intervalMs !== undefined ? { intervalMs: r.intervalMs } : {}) })
      this.shapeIds.set(key, id)
    }
    if (id === undefined) { jobs.lastShape[j] = -1; this.odd.set(j, r) } else { jobs.lastShape[j] = id; this.odd.delete(j) }
  }

  get (j: number): AnnounceResult | undefined {
    const jobs = this.jobs
    if ((jobs.flags[j] & J_HAS_LAST) === 0) return undefined
    const id = jobs.lastShape[j]
    if (id < 0) return this.odd.get(j)
    const s = this.shapes[id]
    const r: AnnounceResult = { ok: s.ok, at: jobs.lastAt[j], event: s.event }
    if (s.code !== undefined) r.code = s.code
    if (s.message !== undefined) r.message = s.message
    if (jobs.lastPeers[j] >= 0) r.peers = jobs.lastPeers[j]
    if (jobs.lastSeeders[j] >= 0) r.seeders = jobs.lastSeeders[j]
    if (jobs.lastLeechers[j] >= 0) r.leechers = jobs.lastLeechers[j]
    if (s.intervalMs !== undefined) r.intervalMs = s.intervalMs
    return r
  }

  /** A retired job: its kept-whole result goes (its columns are reset when the job is reused). */
  forget (j: number): void { this.odd.delete(j) }
}
