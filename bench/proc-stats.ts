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

export interface CpuTimes {
  /** User-space CPU ms (JavaScript, V8, libtorrent's own code). */
  user: number
  /** Kernel CPU ms on the process's behalf (syscalls: the TCP stack, file I/O). */
  system: number
}

/** User and system CPU milliseconds the process has used so far. */
export function cpuTimes (pid: number): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11]) // field 14 of the full line
  const stime = Number(fields[12]) // field 15
  return { user: (utime * 1000) / CLK_TCK, system: (stime * 1000) / CLK_TCK }
}

/** User + system CPU milliseconds the process has used so far. */
export function cpuMs (pid: number): number {
  const t = cpuTimes(pid)
  return t.user + t.system
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

/** CPU ms every core of the machine spent busy (not idle or waiting on I/O) since boot. */
export function machineBusyMs (): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] // "cpu  user nice system idle iowait irq softirq steal ..."
  const v = line.trim().split(/\s+/).slice(1).map(Number)
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0)
  return ((total - v[3] - v[4]) * 1000) / CLK_TCK
}
