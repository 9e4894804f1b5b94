/**
 * The kernel's TCP counters of this network namespace (/proc/net/netstat and /proc/net/snmp,
 * what nstat reads), for the phases of a traced run: a SYN dropped because the peer's accept
 * queue was full (ListenOverflows / ListenDrops) costs the connecting side a 1 s
 * retransmission (TCPSynRetrans), which in the leecher's figures looks exactly like a rare
 * slow exchange. Other machines' users share these counters unless the bench runs in a
 * namespace of its own (`unshare -n`).
 */
import { readFileSync } from 'node:fs'

/** The counters a flood's tail can come from; the rest are left out of the trace. */
const KEPT = ['TcpExtListenOverflows', 'TcpExtListenDrops', 'TcpExtTCPReqQFullDrop', 'TcpExtTCPReqQFullDoCookies', 'TcpExtSyncookiesSent', 'TcpExtTCPSynRetrans', 'TcpExtTCPTimeouts', 'TcpRetransSegs', 'TcpAttemptFails', 'TcpEstabResets', 'TcpExtTCPAbortOnData', 'TcpExtTCPAbortOnClose', 'TcpExtTW', 'TcpExtTCPBacklogDrop', 'TcpExtTCPRcvQDrop', 'TcpExtTCPOrphanQueued']

export type NetCounters = Record<string, number>

export function netCounters (): NetCounters | null {
  const out: NetCounters = {}
  try {
    for (const file of ['/proc/net/netstat', '/proc/net/snmp']) {
      const lines = readFileSync(file, 'utf8').trim().split('\n')
      for (let i = 0; i + 1 < lines.length; i += 2) {
        const names = lines[i].split(/\s+/)
        const values = lines[i + 1].split(/\s+/)
        const prefix = names[0].replace(':', '')
        for (let k = 1; k < names.length; k++) {
          const name = prefix + names[k]
          if (KEPT.includes(name)) out[name] = Number(values[k])
        }
      }
    }
    return out
  } catch {
    return null
  }
}

export function countersDelta (a: NetCounters | null, b: NetCounters | null): NetCounters | null {
  if (!a || !b) return null
  const d: NetCounters = {}
  for (const k of Object.keys(b)) if (b[k] !== a[k]) d[k] = b[k] - (a[k] ?? 0)
  return d
}

/**
 * One core's time since boot, ms, from /proc/stat: busy (user, nice, system, irq, softirq),
 * softirq alone (the kernel's network work done on that core) and steal (the hypervisor ran
 * someone else's virtual CPU). With the peer's own CPU subtracted, busy says how much of the
 * peer's pinned core other processes took.
 */
export interface CoreTimes { busy: number, softirq: number, steal: number }

const TICK_MS = 10 // USER_HZ is 100 on Linux

export function coreTimes (cpu: number): CoreTimes | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find(l => l.startsWith(`cpu${cpu} `))
    if (!line) return null
    const v = line.trim().split(/\s+/).slice(1).map(Number)
    return { busy: (v[0] + v[1] + v[2] + v[5] + v[6]) * TICK_MS, softirq: v[6] * TICK_MS, steal: v[7] * TICK_MS }
  } catch {
    return null
  }
}
