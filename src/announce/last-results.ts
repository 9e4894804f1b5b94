/**
 * Each announce job's last result, kept without an object per job: its time and counts in the
 * job table's columns, the rest (ok, event, code, message, interval) as a shape interned once
 * (100k torrents that failed the same way share one). Isomorphic.
 */
import { J_HAS_LAST, type JobTable } from './job-table.ts'
import type { AnnounceEvent } from './target.ts'
import type { AnnounceResult } from './scheduler-options.ts'

/** Distinct result shapes interned; beyond this, results are kept whole (ids fit the Int16 column). */
const MAX_SHAPES = 4096
/** The count columns are Uint16: this marks "not reported"; a count at or above OVERFLOW is kept whole. */
const NONE = 0xffff
const OVERFLOW = 0xfffe

function count (n: number | undefined): number {
  if (n === undefined) return NONE
  return n >= OVERFLOW || n < 0 || !Number.isInteger(n) ? OVERFLOW : n
}

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
    const peers = count(r.peers)
    const seeders = count(r.seeders)
    const leechers = count(r.leechers)
    jobs.lastPeers[j] = peers
    jobs.lastSeeders[j] = seeders
    jobs.lastLeechers[j] = leechers
    // A count the 16-bit columns cannot hold (a swarm of 65,535 or more): this result whole.
    if (peers === OVERFLOW || seeders === OVERFLOW || leechers === OVERFLOW) { jobs.lastShape[j] = -1; this.odd.set(j, r); return }
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
    if (jobs.lastPeers[j] !== NONE) r.peers = jobs.lastPeers[j]
    if (jobs.lastSeeders[j] !== NONE) r.seeders = jobs.lastSeeders[j]
    if (jobs.lastLeechers[j] !== NONE) r.leechers = jobs.lastLeechers[j]
    if (s.intervalMs !== undefined) r.intervalMs = s.intervalMs
    return r
  }

  /** A retired job: its kept-whole result goes (its columns are reset when the job is reused). */
  forget (j: number): void { this.odd.delete(j) }
}
