/**
 * Reads traced rows of the hostile bench (`node bench/hostile.ts --trace DIR`) and says where
 * each slow exchange spent its time and what the peer, the leecher and the kernel did meanwhile:
 *
 *   node bench/hostile/trace-report.ts DIR/drip-1.json [more.json ...] [--slowest N]
 *
 * For every phase: exchanges, p50/p99, the kernel's TCP counters moved (dropped SYNs...), the
 * peer's stalls and collections. Then the slowest exchanges of calm and flood, each with its
 * phases (connect, reply = first byte of the peer's handshake, extended handshake, first piece,
 * done) and, over its lifetime, the peer's longest stall and its collections, connections the
 * peer accepted, the leecher's own longest stall, and TCP counters that moved. Last, every
 * flood exchange slower than 3x the calm p99 is put down to what delayed it most:
 *   kernel         its connect took >= 900 ms (a dropped SYN, retransmitted after 1 s)
 *   peer off-CPU   the peer's loop stalled while the process got no CPU (someone else had its core)
 *   peer work      the peer's loop stalled in its own work (one long tick)
 *   leecher        the leecher's own loop stalled (it waited for a CPU beside the generator)
 *   peer queue     none of those covers a third of its delay: the peer was busy in many
 *                  short ticks (the accept queue ahead of it)
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { ExchangePhases } from './exchange-trace.ts'

interface Trace {
  flood: string
  seed: number
  edges: Record<string, { at: number, net: Record<string, number> | null }>
  netTimeline: Array<[number, Record<string, number>]>
  coreTimeline?: Array<[number, number, number, number, number]>
  leecher: { exchanges: ExchangePhases[], stalls: Array<[number, number]> } | null
  peer: { stalls: Array<[number, number, number]>, destroys: Array<[number, number]>, gcs: Array<[number, number, number]>, gcKinds: Record<string, string>, accepts: Array<[number, number]>, acceptBucketMs: number, loopDelay: Record<string, number>, memory: Record<string, number> } | null
}

const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: { slowest: { type: 'string', default: '8' } } })
const N = Number(opts.slowest)

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
const f1 = (n: number | undefined): string => (n === undefined ? '-' : n.toFixed(n < 10 ? 1 : 0))

/** Entries [t, value] of `list` with t in [from, to). */
const within = <T extends [number, ...unknown[]]>(list: T[], from: number, to: number): T[] => list.filter(e => e[0] >= from && e[0] < to)

function sumCounters (rows: Array<[number, Record<string, number>]>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [, d] of rows) for (const [k, v] of Object.entries(d)) out[k] = (out[k] ?? 0) + v
  return out
}

const short = (c: Record<string, number>): string => Object.entries(c).filter(([k]) => !/TW$|AbortOn|EstabResets/.test(k)).map(([k, v]) => `${k.replace(/^TcpExt|^Tcp/, '')} ${v}`).join(', ') || '-'

type Cause = 'kernel' | 'peer off-CPU' | 'peer work' | 'leecher' | 'peer queue'

/** Overlap in ms of [a0, a1) and [b0, b1). */
const overlap = (a0: number, a1: number, b0: number, b1: number): number => Math.max(0, Math.min(a1, b1) - Math.max(a0, b0))

function cause (t: Trace, e: ExchangePhases, calmP50: number): { cause: Cause, parts: Record<string, number> } {
  const end = e.at + e.done!
  const excess = Math.max(1, e.done! - calmP50)
  let offCpu = 0
  let work = 0
  for (const [due, late, cpu] of t.peer?.stalls ?? []) {
    const o = overlap(due, due + late, e.at, end)
    if (o === 0) continue
    work += (o * Math.min(cpu, late)) / late
    offCpu += (o * Math.max(0, late - cpu)) / late
  }
  let leecher = 0
  for (const [due, late] of t.leecher?.stalls ?? []) leecher += overlap(due, due + late, e.at, end)
  const parts = { 'peer off-CPU': offCpu, 'peer work': work, leecher }
  if ((e.connect ?? 0) >= 900) return { cause: 'kernel', parts }
  const [best, ms] = Object.entries(parts).sort((a, b) => b[1] - a[1])[0]
  return { cause: ms >= excess / 3 ? best as Cause : 'peer queue', parts }
}

for (const file of positionals) {
  const t = JSON.parse(readFileSync(file, 'utf8')) as Trace
  const ex = t.leecher?.exchanges ?? []
  const peer = t.peer
  const flood0 = t.edges.flood?.at ?? 0
  console.log(`\n## ${file}: ${t.flood}, seed ${t.seed}`)
  if (peer) console.log(`peer loop delay over the run: p50 ${peer.loopDelay.p50} ms, p99 ${peer.loopDelay.p99} ms, max ${peer.loopDelay.max} ms; memory at exit: rss ${(peer.memory.rss / 2 ** 20).toFixed(0)}, heapUsed ${(peer.memory.heapUsed / 2 ** 20).toFixed(0)}, external ${(peer.memory.external / 2 ** 20).toFixed(0)}, arrayBuffers ${(peer.memory.arrayBuffers / 2 ** 20).toFixed(0)} MiB`)
  const phases = ['calm', 'flood', 'after'] as const
  for (let i = 0; i < phases.length; i++) {
    const from = t.edges[phases[i]]?.at
    const to = i + 1 < phases.length ? t.edges[phases[i + 1]]?.at : t.edges.end?.at
    if (from === undefined || to === undefined) continue
    const mine = ex.filter(e => e.at >= from && e.at < to)
    const ok = mine.filter(e => e.done !== undefined).map(e => e.done!).sort((a, b) => a - b)
    const stalls = peer ? within(peer.stalls, from, to) : []
    const gcs = peer ? within(peer.gcs, from, to) : []
    const lst = t.leecher ? within(t.leecher.stalls, from, to) : []
    console.log(`${phases[i]}: ${ok.length}/${mine.length} ok, p50 ${f1(pct(ok, 50))} p99 ${f1(pct(ok, 99))} ms; TCP: ${short(sumCounters(within(t.netTimeline, from, to)))}; peer stalls > 5 ms: ${stalls.length} (sum ${f1(stalls.reduce((s, x) => s + x[1], 0))}, max ${f1(Math.max(0, ...stalls.map(x => x[1])))} ms); GCs ${gcs.length} (sum ${f1(gcs.reduce((s, x) => s + x[1], 0))}, max ${f1(Math.max(0, ...gcs.map(x => x[1])))} ms); leecher stalls ${lst.length} (max ${f1(Math.max(0, ...lst.map(x => x[1])))} ms)`)
    if (phases[i] === 'after') continue
    const slow = mine.filter(e => e.done !== undefined).sort((a, b) => b.done! - a.done!).slice(0, N)
    for (const e of slow) {
      const end = e.at + e.done!
      // A stall that began up to its length before the exchange still delayed it.
      const ps = peer ? peer.stalls.filter(s => s[0] + s[1] >= e.at && s[0] < end) : []
      const pg = peer ? peer.gcs.filter(g => g[0] + g[1] >= e.at && g[0] < end) : []
      const acc = peer ? within(peer.accepts, e.at - peer.acceptBucketMs, end).reduce((s, x) => s + x[1], 0) : 0
      const des = peer ? within(peer.destroys ?? [], e.at - peer.acceptBucketMs, end).reduce((s, x) => s + x[1], 0) : 0
      const worst = ps.reduce<[number, number, number] | null>((w, s) => (!w || s[1] > w[1] ? s : w), null)
      const ls = t.leecher ? t.leecher.stalls.filter(s => s[0] + s[1] >= e.at && s[0] < end) : []
      const net = sumCounters(within(t.netTimeline, e.at - 50, end + 50))
      const kinds = [...new Set(pg.map(g => peer!.gcKinds[g[2]] ?? g[2]))].join('/')
      const core = (t.coreTimeline ?? []).filter(c => c[0] > e.at && c[0] - 100 < end)
      const others = core.reduce((sum, c) => sum + Math.max(0, c[1] - c[4]), 0)
      console.log(`  +${((e.at - flood0) / 1000).toFixed(2)} s ${f1(e.done)} ms: connect ${f1(e.connect)}, reply +${f1(sub(e.reply, e.connect))}, extended +${f1(sub(e.extended, e.reply))}, piece +${f1(sub(e.piece, e.extended))}, done +${f1(sub(e.done, e.piece))} | peer stall max ${worst ? `${f1(worst[1])} (CPU ${f1(worst[2])})` : '0'} sum ${f1(ps.reduce((s, x) => s + x[1], 0))} ms, GC ${pg.length ? `${pg.length}x ${kinds} ${f1(pg.reduce((s, g) => s + g[1], 0))} ms` : '-'}, accepted ${acc}, destroyed ${des}, leecher stall max ${f1(Math.max(0, ...ls.map(s => s[1])))} ms, others on the peer's core ${core.length ? `${others} ms / ${core.length * 100}` : '-'}, TCP: ${short(net)}`)
    }
  }
  const calmFrom = t.edges.calm?.at ?? 0
  const calmOk = ex.filter(e => e.at >= calmFrom && e.at < flood0 && e.done !== undefined).map(e => e.done!).sort((a, b) => a - b)
  const floodEnd = t.edges.after?.at ?? Infinity
  if (calmOk.length > 0) {
    const line = 3 * pct(calmOk, 99)
    const slow = ex.filter(e => e.at >= flood0 && e.at < floodEnd && e.done !== undefined && e.done > line)
    const by: Record<string, number> = {}
    for (const e of slow) { const c = cause(t, e, pct(calmOk, 50)).cause; by[c] = (by[c] ?? 0) + 1 }
    console.log(`flood exchanges over 3x the calm p99 (${f1(line)} ms): ${slow.length} of ${ex.filter(e => e.at >= flood0 && e.at < floodEnd).length}${slow.length ? `; delayed most by: ${Object.entries(by).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}`)
  }
}

function sub (a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a - b
}
