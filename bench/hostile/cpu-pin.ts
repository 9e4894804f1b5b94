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
