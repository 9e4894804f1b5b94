/**
 * CPU time and memory of another process, read from /proc (Linux). CPU comes from
 * /proc/<pid>/stat (utime + stime: every thread of the process, so libtorrent's network and
 * disk threads count too), memory from /proc/<pid>/status.
 */
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux we know, but ask. */
const CLK_TCK = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 } catch { return 100 }
})()

/** User + system CPU milliseconds the process has used so far. */
export function cpuMs (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11]) // field 14 of the full line
  const stime = Number(fields[12]) // field 15
  return ((utime + stime) * 1000) / CLK_TCK
}

export interface MemoryKiB {
  /** Resident set size now. */
  rss: number
  /** Peak resident set size (high-water mark). */
  hwm: number
}

export function memoryKiB (pid: number): MemoryKiB {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rss: field('VmRSS'), hwm: field('VmHWM') }
}
