/**
 * Which announce jobs exist, for the announce scheduler: one per (torrent, target), in the
 * packed tables of job-table.ts, each in its target's heap keyed by when it is due. Torrents
 * are added, given other targets, removed (a `stopped` owed to every target they were
 * announced to) and made due again as `started`; when each job goes out, and what its answer
 * changes, is the scheduler's loop, which reads these tables directly. Isomorphic.
 */
import { EV_STARTED, J_ANNOUNCED, J_IN_FLIGHT, J_REMOVED, JobTable, TorrentKeys } from './job-table.ts'
import { newTargetState, type SchedulerWarning, type TargetState } from './target-state.ts'
import { LastResults } from './last-results.ts'
import type { AnnounceTarget } from './target.ts'
import type { AnnounceResult } from './scheduler-options.ts'

/** A `stopped` owed to a target for a removed torrent: rare (removals, shutdown), so an object. */
export interface StopJob {
  readonly infoHash: string
  readonly target: TargetState
}

/** What the job set needs from the scheduler: its clock and randomness, warnings, and a target's reannounce. */
export interface JobSetHost {
  readonly opts: { readonly startJitterMs: number, readonly random: () => number, readonly now: () => number }
  warn (w: SchedulerWarning): void
  /** What a target's `attach` hook calls (a WebSocket tracker that reconnected). */
  reannounce (key: string): void
}

export class JobSet {
  readonly targets = new Map<string, TargetState>()
  readonly targetList: TargetState[] = []
  /** Every (torrent, target) job, packed (see job-table.ts). */
  readonly jobs = new JobTable()
  torrents = new TorrentKeys()
  /** Each job's last result (columns plus interned shapes). */
  readonly last = new LastResults(this.jobs)
  /** `stopped` announces owed, in the order their jobs ended. */
  readonly stopQueue: StopJob[] = []
  /** Jobs that exist (in a heap or in flight). */
  count = 0
  private readonly host: JobSetHost

  constructor (host: JobSetHost) {
    this.host = host
  }

  /** Bytes the packed job and torrent tables hold (for the memory figures). */
  get packedBytes (): number {
    let heaps = 0
    for (const s of this.targetList) heaps += s.heap.bytes
    return this.jobs.bytes + this.torrents.bytes + heaps
  }

  /** Adds jobs for the targets a torrent is not announced to yet, due within the start jitter. */
  add (infoHash: string, targets: AnnounceTarget[]): void {
    const { opts } = this.host
    const now = opts.now()
    const jobs = this.jobs
    let tid = this.torrents.find(infoHash)
    let tail = -1
    if (tid >= 0) for (let j = this.torrents.first[tid]; j >= 0; j = jobs.nextOfTorrent[j]) tail = j
    for (const target of targets) {
      if (tid >= 0 && this.jobOf(tid, target.key) >= 0) continue
      const state = this.targetState(target)
      if (tid < 0) tid = this.torrents.insert(infoHash)
      const j = jobs.alloc()
      jobs.torrent[j] = tid
      jobs.target[j] = state.index
      jobs.due[j] = now + Math.floor(opts.random() * opts.startJitterMs)
      jobs.event[j] = EV_STARTED
      // Kept in the order added, as torrentStatus() lists them.
      if (tail < 0) this.torrents.first[tid] = j
      else jobs.nextOfTorrent[tail] = j
      tail = j
      state.heap.push(j)
      this.count += 1
    }
  }

  /** The job of a torrent for one target key, or -1. */
  private jobOf (tid: number, key: string): number {
    for (let j = this.torrents.first[tid]; j >= 0; j = this.jobs.nextOfTorrent[j]) {
      if (this.targetList[this.jobs.target[j]].target.key === key) return j
    }
    return -1
  }

  /** Ends every job of a torrent, owing a `stopped` where it was announced; false if it had none. */
  remove (infoHash: string): boolean {
    const tid = this.torrents.find(infoHash)
    if (tid < 0) return false
    for (let j = this.torrents.first[tid]; j >= 0;) {
      const next = this.jobs.nextOfTorrent[j]
      this.retire(j, infoHash, true)
      j = next
    }
    this.torrents.delete(tid)
    return true
  }

  has (infoHash: string): boolean { return this.torrents.find(infoHash) >= 0 }

  /** Ends a job: out of its heap now, its index freed now or (in flight) when its announce ends. */
  private retire (j: number, infoHash: string | undefined, sendStopped: boolean): void {
    const jobs = this.jobs
    const state = this.targetList[jobs.target[j]]
    this.count -= 1
    if (sendStopped && (jobs.flags[j] & J_ANNOUNCED) !== 0 && state.target.sendsStopped) {
      this.stopQueue.push({ infoHash: infoHash ?? this.torrents.key(jobs.torrent[j]), target: state })
    }
    this.last.forget(j)
    if ((jobs.flags[j] & J_IN_FLIGHT) !== 0) { jobs.flags[j] |= J_REMOVED; return }
    state.heap.remove(j)
    jobs.release(j)
  }

  private targetState (target: AnnounceTarget): TargetState {
    let state = this.targets.get(target.key)
    if (!state) {
      state = newTargetState(target, this.targetList.length, this.jobs, w => this.host.warn(w), this.host.opts.now)
      this.targets.set(target.key, state)
      this.targetList.push(state)
      target.attach?.({ reannounce: () => this.host.reannounce(target.key) })
    }
    return state
  }

  /** Makes every job of one target due again as `started`, spread over the start jitter; false if the target is unknown. */
  reannounce (key: string): boolean {
    const state = this.targets.get(key)
    if (!state) return false
    const { opts } = this.host
    const now = opts.now()
    const jobs = this.jobs
    for (let i = 0; i < state.heap.size; i++) {
      const j = state.heap.at(i)
      jobs.due[j] = now + Math.floor(opts.random() * opts.startJitterMs)
      jobs.event[j] = EV_STARTED
    }
    state.heap.rebuild()
    // Jobs in flight re-queue themselves when they finish; mark them to start again too.
    for (let j = 0; j < jobs.extent; j++) {
      if ((jobs.flags[j] & (J_IN_FLIGHT | J_REMOVED)) === J_IN_FLIGHT && jobs.target[j] === state.index) jobs.event[j] = EV_STARTED
    }
    return true
  }

  /**
   * Sets the targets of a torrent: new targets start, targets it no longer names are retired
   * (a `stopped` owed), the others keep their schedule.
   */
  update (infoHash: string, targets: AnnounceTarget[]): void {
    const tid = this.torrents.find(infoHash)
    if (tid < 0) { this.add(infoHash, targets); return }
    const keys = new Set(targets.map(t => t.key))
    const jobs = this.jobs
    let prev = -1
    for (let j = this.torrents.first[tid]; j >= 0;) {
      const next = jobs.nextOfTorrent[j]
      if (keys.has(this.targetList[jobs.target[j]].target.key)) { prev = j } else {
        if (prev < 0) this.torrents.first[tid] = next
        else jobs.nextOfTorrent[prev] = next
        this.retire(j, infoHash, true)
      }
      j = next
    }
    if (this.torrents.first[tid] < 0) this.torrents.delete(tid)
    this.add(infoHash, targets)
  }

  /** Ends every job (close()), owing a `stopped` for each announced one; the torrent table starts empty. */
  retireAll (): void {
    const jobs = this.jobs
    for (let j = 0; j < jobs.extent; j++) {
      if (jobs.heapPos[j] < 0 && (jobs.flags[j] & J_IN_FLIGHT) === 0) continue // free
      if ((jobs.flags[j] & J_REMOVED) !== 0) continue
      this.retire(j, undefined, true) // the key is made only when a `stopped` is owed
    }
    this.torrents = new TorrentKeys()
  }

  /** Last result per target for one torrent. */
  torrentStatus (infoHash: string): Array<{ target: string, due: number, failures: number, last: AnnounceResult | undefined }> {
    const tid = this.torrents.find(infoHash.toLowerCase())
    const out: Array<{ target: string, due: number, failures: number, last: AnnounceResult | undefined }> = []
    if (tid < 0) return out
    const jobs = this.jobs
    for (let j = this.torrents.first[tid]; j >= 0; j = jobs.nextOfTorrent[j]) {
      out.push({ target: this.targetList[jobs.target[j]].target.key, due: jobs.due[j], failures: jobs.failures[j], last: this.last.get(j) })
    }
    return out
  }

  /** Gives back the tables' growth slack (after a large load). */
  trim (): void {
    this.jobs.trim()
    this.torrents.trim()
    for (const s of this.targetList) s.heap.trim()
  }
}
