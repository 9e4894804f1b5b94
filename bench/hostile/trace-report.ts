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
 * peer accepted, the leecher's own longest stall, and TCP counters that moved.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { ExchangePhases } from './exchange-trace.ts'

interface Trace {
  flood: string
  seed: number
  edges: Record<string, { at: number, net: Record<string, number> | null }>
  netTimeline: Array<[number, Record<string, number>]>
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
      console.log(`  +${((e.at - flood0) / 1000).toFixed(2)} s ${f1(e.done)} ms: connect ${f1(e.connect)}, reply +${f1(sub(e.reply, e.connect))}, extended +${f1(sub(e.extended, e.reply))}, piece +${f1(sub(e.piece, e.extended))}, done +${f1(sub(e.done, e.piece))} | peer stall max ${worst ? `${f1(worst[1])} (CPU ${f1(worst[2])})` : '0'} sum ${f1(ps.reduce((s, x) => s + x[1], 0))} ms, GC ${pg.length ? `${pg.length}x ${kinds} ${f1(pg.reduce((s, g) => s + g[1], 0))} ms` : '-'}, accepted ${acc}, destroyed ${des}, leecher stall max ${f1(Math.max(0, ...ls.map(s => s[1])))} ms, TCP: ${short(net)}`)
    }
  }
}

function sub (a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a - b
}
