/**
 * A traced row's file (`--trace`): the phase edges and TCP counters of the bench, the
 * leecher's exchange phases and stalls, and the peer probe's stalls, collections and accepts,
 * all on one epoch-millisecond clock; bench/hostile/trace-report.ts reads it.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { NetCounters } from './net-counters.ts'

export interface TraceInput {
  flood: string
  seed: number
  edges: Partial<Record<string, { t: number, net: NetCounters | null }>>
  netTimeline: Array<[number, NetCounters]>
  /** The peer's core per sample: [epoch ms, busy ms, softirq ms, steal ms, the peer's own CPU ms]. */
  coreTimeline: Array<[number, number, number, number, number]>
  leecher: unknown
}

export function writeTrace (file: string, input: TraceInput): void {
  const peerFile = `${file}.peer`
  let peer: unknown = null
  if (existsSync(peerFile)) {
    try { peer = JSON.parse(readFileSync(peerFile, 'utf8')) } catch { peer = null }
    rmSync(peerFile, { force: true })
  }
  const edges: Record<string, { at: number, net: NetCounters | null }> = {}
  for (const [name, e] of Object.entries(input.edges)) if (e) edges[name] = { at: Math.round(performance.timeOrigin + e.t), net: e.net }
  writeFileSync(file, JSON.stringify({ flood: input.flood, seed: input.seed, edges, netTimeline: input.netTimeline, coreTimeline: input.coreTimeline, leecher: input.leecher, peer }))
}
