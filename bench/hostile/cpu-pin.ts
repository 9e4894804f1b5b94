/**
 * Where each process of the bench runs: the peer under test on a core of its own, everything
 * else (the flood generator, the correct leecher, the bench) on the others.
 *
 * Why: on a real deployment the attacker's CPU is someone else's machine. Here the flood
 * generator runs beside the peer, and on loopback it is CPU-bound exactly when the peer is
 * (opening 2,000 connections at once takes it ~250 ms of CPU, the kernel's work for both ends
 * of each handshake included), so with the scheduler free to mix them the peer waited for a
 * CPU for ~40% of a flood's opening burst (schedstat of its main thread) and the leecher's
 * exchanges measured the generator's CPU as much as the peer's. Pinned, the generator can
 * still take all of its own core, the leecher shares that core with it (it gets no help), and
 * the peer gets one core, which is what a small server has. `--no-pin` runs without it.
 * Both peers are pinned the same way.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import os from 'node:os'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'

export interface CpuLayout {
  /** taskset list for the peer under test, e.g. "1". */
  peer: string
  /** taskset list for the bench, the leecher and the flood generator, e.g. "0". */
  others: string
}

/** The layout on this machine, or null with fewer than 2 CPUs or without taskset. */
export function cpuLayout (): CpuLayout | null {
  const n = os.availableParallelism()
  if (n < 2 || spawnSync('taskset', ['-V']).status !== 0) return null
  return { peer: String(n - 1), others: n === 2 ? '0' : `0-${n - 2}` }
}

/** Moves this process (every thread) to `cpus`; children forked after this inherit it. */
export function pinSelf (cpus: string): void {
  execFileSync('taskset', ['-a', '-cp', cpus, String(process.pid)], { stdio: 'ignore' })
}

/**
 * The nice value of the measured processes (the peer under test and the leecher, both peers
 * alike, each in a session of its own whose scheduling group gets it too: see
 * raisePriority), above other users' work on this shared machine. Why: traced rows (`--trace`) showed
 * other processes taking 45-70% of the peer's pinned core during calm and flood alike (its
 * core's busy time in /proc/stat minus the peer's own CPU), and the slow exchanges of such a
 * row waiting for the peer's turn on its core, not for its work. The flood generator keeps
 * the normal priority: it shares its core with the leecher, which uses ~3% of it, so the
 * flood's strength does not change; lowering the generator instead left it without CPU on a
 * loaded machine (session 6). `--no-priority` measures without it.
 */
export const MEASURED_NICE = -10

/** Whether this process may raise priorities (root or CAP_SYS_NICE). */
export function canRaisePriority (): boolean {
  return spawnSync('nice', ['-n', String(MEASURED_NICE), 'true']).status === 0 && spawnSync('nice', ['-n', String(MEASURED_NICE), 'nice']).stdout?.toString().trim() === String(MEASURED_NICE)
}

/** The command prefix that starts a process at MEASURED_NICE (every thread inherits it). */
export function nicePrefix (): string[] {
  return ['nice', '-n', String(MEASURED_NICE)]
}

/**
 * Raises a running process to MEASURED_NICE: every thread (threads it starts later inherit it)
 * and, where the kernel groups processes by session (`kernel.sched_autogroup_enabled`, on here),
 * its session's group. With autogroups, nice only orders the threads of one session: the CPU is
 * shared between sessions first, so a peer in the bench's session got the bench's share split
 * with the generator, whatever its nice value. The process must lead a session of its own
 * (spawn it `detached`), or this would raise the bench's whole session, generator included.
 */
export function raisePriority (pid: number): boolean {
  let ok = false
  try {
    const tids = readdirSync(`/proc/${pid}/task`)
    ok = spawnSync('renice', ['-n', String(MEASURED_NICE), '-p', ...tids], { stdio: 'ignore' }).status === 0
  } catch { /* exited */ }
  try {
    if (existsSync(`/proc/${pid}/autogroup`)) writeFileSync(`/proc/${pid}/autogroup`, String(MEASURED_NICE))
  } catch { ok = false }
  return ok
}
