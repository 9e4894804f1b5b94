/**
 * How long a process's threads ran and how long they waited for a CPU while runnable (the sum
 * of /proc/<pid>/task/<tid>/schedstat, Linux; libtorrent's work is on its network thread, not
 * the main one): the second figure says whether a flood's latencies were the peer's own work
 * or other work queued ahead of it on the same CPUs.
 */
import { readdirSync, readFileSync } from 'node:fs'

export interface SchedMs { runMs: number, waitMs: number }

/** Run and run-queue wait times so far, summed over every thread, or null when unreadable. */
export function processSched (pid: number | undefined): SchedMs | null {
  if (!pid) return null
  try {
    let run = 0
    let wait = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const [r, w] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number)
        if (Number.isFinite(r) && Number.isFinite(w)) { run += r; wait += w }
      } catch { /* the thread ended between the listing and the read */ }
    }
    return { runMs: run / 1e6, waitMs: wait / 1e6 }
  } catch {
    return null
  }
}

export function schedDelta (a: SchedMs | null, b: SchedMs | null): SchedMs | null {
  return a && b ? { runMs: b.runMs - a.runMs, waitMs: b.waitMs - a.waitMs } : null
}
