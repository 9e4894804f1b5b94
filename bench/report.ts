/**
 * Turns benchmark runs into the printed tables and the PASS/FAIL verdicts on issue 12's
 * targets: CPU per exchange at most 1.3x libtorrent's (and about 1.25x Node's floor) at every
 * concurrency and window, exchanges/s at least 0.85x libtorrent's at 128 connections,
 * request-all p99 at most 0.1x libtorrent's; RSS and load time at 100k and 1M torrents.
 */
import type { ExchangeRun } from './exchange-bench.ts'
import type { ScaleRun } from './scale-bench.ts'

export interface Target {
  name: string
  torrentFish: number
  baseline: number
  /** torrent-fish / baseline. */
  ratio: number
  limit: number
  pass: boolean
  /** The ratio must be at least the limit (throughput), not at most. */
  atLeast?: boolean
  /** An absolute limit (RSS, load time), no baseline. */
  absolute?: boolean
  note?: string
}

export function table (headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map(r => r.map(c => String(c)))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map(r => r[i]?.length ?? 0)))
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(headers), widths.map(w => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}

const f = (n: number | null | undefined, digits = 1): string => (n === null || n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits))
const mib = (kib: number): string => (kib / 1024).toFixed(1)
const mib2 = (kib: number): string => (kib / 1024).toFixed(0)

const w = (n: number): string => (n === 0 ? 'all' : String(n))
const spread = (r: [number, number] | undefined, digits: number): string => (r ? ` (${f(r[0], digits)}-${f(r[1], digits)})` : '')

export function exchangeTable (runs: ExchangeRun[]): string {
  return table(
    ['peer', 'conns', 'window', 'gens', 'exch/s (min-max)', 'p50 ms', 'p99 ms (min-max)', 'p50 S/M/L ms', 'peer CPU ms/exch (min-max)', 'of it sys', 'peer CPU %', 'gen CPU %', 'other CPU %', 'errors'],
    runs.map(r => [
      r.peer, r.concurrency, w(r.window), r.generators, f(r.exchangesPerSec, 0) + spread(r.spread?.exchangesPerSec, 0), f(r.p50Ms, 2), f(r.p99Ms, 2) + spread(r.spread?.p99Ms, 1),
      `${f(r.p50ByClass.small, 1)}/${f(r.p50ByClass.medium, 1)}/${f(r.p50ByClass.large, 0)}`,
      f(r.peerCpuPerExchangeMs, 3) + spread(r.spread?.peerCpuPerExchangeMs, 3), f(r.peerSysPerExchangeMs, 3), f(r.peerCpuUtil * 100, 0), r.generatorCpuUtil.map(u => f(u * 100, 0)).join('+'), f(r.backgroundCores * 100, 0),
      Object.entries(r.errors).map(([k, v]) => `${k}:${v}`).join(' ') || '0'
    ])
  )
}

export function scaleTable (runs: ScaleRun[]): string {
  return table(
    ['peer', 'torrents', 'loaded', 'load s', 'load CPU s', 'serving all s', 'other CPU %', 'RSS ready MiB', 'RSS MiB', 'peak MiB', 'idle CPU %', 'served sample'],
    runs.map(r => [r.variant ? `${r.peer} ${r.variant}` : r.peer, r.torrents, r.loaded, f(r.loadMs / 1000, 2), f(r.loadCpuS, 2), f((r.readyMs ?? r.loadMs) / 1000, 2), f(r.backgroundCores * 100, 0), mib(r.rssReadyKiB), mib(r.rssKiB), mib(r.hwmKiB), r.idleCpu === undefined ? '-' : f(r.idleCpu * 100, 2), `${r.verified}/${r.sampled}`])
  )
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/**
 * A ratio target. With rounds, the ratio is the median of the per-round ratios (each from two
 * windows measured seconds apart), which cancels most of the background noise; min-max go in the note.
 */
function target (name: string, tf: number, lt: number, limit: number, note?: string, ratios?: number[], atLeast = false): Target {
  const ratio = ratios && ratios.length > 1 ? median(ratios) : tf / lt
  const spreadNote = ratios && ratios.length > 1 ? `ratio ${f(Math.min(...ratios), 2)}-${f(Math.max(...ratios), 2)} over ${ratios.length} rounds` : undefined
  const pass = Number.isFinite(ratio) && (atLeast ? ratio >= limit : ratio <= limit)
  const notes = [spreadNote, note].filter(Boolean).join('; ')
  return { name, torrentFish: tf, baseline: lt, ratio, limit, pass, ...(atLeast ? { atLeast } : {}), ...(notes ? { note: notes } : {}) }
}

function absolute (name: string, tf: number, limit: number, note?: string): Target {
  return { name, torrentFish: tf, baseline: NaN, ratio: NaN, limit, pass: tf <= limit, absolute: true, ...(note ? { note } : {}) }
}

/** Issue 12's targets: CPU <= 1.3x libtorrent's, rate >= 0.85x at 128, request-all p99 <= 0.1x; 100k in 256 MiB / 5 s, 1M in 1 GiB / 60 s. */
export function targets (exchange: ExchangeRun[], scale: ScaleRun[], rounds: ExchangeRun[] = []): Target[] {
  const out: Target[] = []
  const perRound = (peer: string, base: string, c: number, win: number, fig: (r: ExchangeRun) => number): number[] => {
    const mine = rounds.filter(r => r.peer === peer && r.concurrency === c && r.window === win)
    return mine.flatMap(r => {
      const b = rounds.find(x => x.peer === base && x.concurrency === c && x.window === win && x.round === r.round)
      return b ? [fig(r) / fig(b)] : []
    })
  }
  const keys = [...new Set(exchange.map(r => `${r.window}/${r.concurrency}`))]
  for (const key of keys) {
    const [win, c] = key.split('/').map(Number)
    const find = (peer: string): ExchangeRun | undefined => exchange.find(r => r.peer === peer && r.concurrency === c && r.window === win)
    const tf = find('torrent-fish')
    const lt = find('libtorrent')
    const floor = find('node-floor')
    const label = `${c} conns, window ${w(win)}`
    if (tf && lt) out.push(target(`CPU per exchange vs libtorrent, ${label} (ms)`, tf.peerCpuPerExchangeMs, lt.peerCpuPerExchangeMs, 1.3, undefined, perRound('torrent-fish', 'libtorrent', c, win, r => r.peerCpuPerExchangeMs)))
    if (tf && floor) out.push(target(`CPU per exchange vs Node's floor, ${label} (ms)`, tf.peerCpuPerExchangeMs, floor.peerCpuPerExchangeMs, 1.25, undefined, perRound('torrent-fish', 'node-floor', c, win, r => r.peerCpuPerExchangeMs)))
    if (tf && lt && c >= 128) out.push(target(`exchanges/s vs libtorrent, ${label}`, tf.exchangesPerSec, lt.exchangesPerSec, 0.85, undefined, perRound('torrent-fish', 'libtorrent', c, win, r => r.exchangesPerSec), true))
    if (tf && lt && win === 0) out.push(target(`p99 latency vs libtorrent, ${label} (ms)`, tf.p99Ms, lt.p99Ms, 0.1, undefined, perRound('torrent-fish', 'libtorrent', c, win, r => r.p99Ms)))
  }
  // Judged with every default on (TCP + uTP + DHT + trackers + LSD), and again with --http.
  for (const [n, mib, s] of [[100_000, 256, 5], [1_000_000, 1024, 60]] as const) {
    for (const variant of ['defaults', 'defaults, restart', 'defaults --http']) {
      const tf = scale.find(r => r.peer === 'torrent-fish' && r.variant === variant && r.torrents === n)
      if (!tf) continue
      const lt = scale.find(r => r.peer === 'libtorrent' && r.torrents === n)
      const note = lt ? `libtorrent ${mib2(lt.rssKiB)} MiB, ${f(lt.loadMs / 1000, 1)} s in the same run` : undefined
      out.push(absolute(`RSS at ${n} torrents, ${variant} (MiB)`, tf.rssKiB / 1024, mib, note))
      out.push(absolute(`load time at ${n} torrents, ${variant} (s)`, tf.loadMs / 1000, s, `load CPU ${f(tf.loadCpuS, 1)} s`))
      if (tf.idleCpu !== undefined) out.push(absolute(`idle CPU at ${n} torrents, ${variant} (% of a core)`, tf.idleCpu * 100, 2))
    }
  }
  return out
}

export function targetTable (list: Target[]): string {
  return table(
    ['target', 'torrent-fish', 'baseline', 'ratio', 'limit', 'verdict'],
    list.map(t => [t.name, f(t.torrentFish, 3), f(t.baseline, 3), f(t.ratio, 3), `${t.atLeast ? '>=' : '<='} ${f(t.limit, 3)}`, `${t.pass ? 'PASS' : 'FAIL'}${t.note ? ` (${t.note})` : ''}`])
  )
}
