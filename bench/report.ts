/**
 * Turns benchmark runs into the printed tables and the PASS/FAIL verdicts on the targets:
 * CPU per exchange at most 1/2 of the baseline's (at every concurrency), and at the largest
 * corpus RSS and load time at most 1/8 of the baseline's.
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

export function exchangeTable (runs: ExchangeRun[]): string {
  return table(
    ['peer', 'conns', 'gens', 'exchanges', 'exch/s', 'p50 ms', 'p99 ms', 'p50 S/M/L ms', 'peer CPU ms/exch', 'of it sys', 'peer CPU %', 'gen CPU %', 'other CPU %', 'errors'],
    runs.map(r => [
      r.peer, r.concurrency, r.generators, r.exchanges, f(r.exchangesPerSec, 0), f(r.p50Ms, 2), f(r.p99Ms, 2),
      `${f(r.p50ByClass.small, 1)}/${f(r.p50ByClass.medium, 1)}/${f(r.p50ByClass.large, 0)}`,
      f(r.peerCpuPerExchangeMs, 3), f(r.peerSysPerExchangeMs, 3), f(r.peerCpuUtil * 100, 0), r.generatorCpuUtil.map(u => f(u * 100, 0)).join('+'), f(r.backgroundCores * 100, 0),
      Object.entries(r.errors).map(([k, v]) => `${k}:${v}`).join(' ') || '0'
    ])
  )
}

export function scaleTable (runs: ScaleRun[]): string {
  return table(
    ['peer', 'torrents', 'loaded', 'load s', 'serving all s', 'other CPU %', 'RSS ready MiB', 'RSS MiB', 'peak MiB', 'served sample'],
    runs.map(r => [r.variant ? `${r.peer} ${r.variant}` : r.peer, r.torrents, r.loaded, f(r.loadMs / 1000, 2), f((r.readyMs ?? r.loadMs) / 1000, 2), f(r.backgroundCores * 100, 0), mib(r.rssReadyKiB), mib(r.rssKiB), mib(r.hwmKiB), `${r.verified}/${r.sampled}`])
  )
}

function target (name: string, tf: number, lt: number, limit: number, note?: string): Target {
  const ratio = tf / lt
  return { name, torrentFish: tf, baseline: lt, ratio, limit, pass: Number.isFinite(ratio) && ratio <= limit, ...(note ? { note } : {}) }
}

export function targets (exchange: ExchangeRun[], scale: ScaleRun[]): Target[] {
  const out: Target[] = []
  const concurrencies = [...new Set(exchange.map(r => r.concurrency))]
  for (const c of concurrencies) {
    const tf = exchange.find(r => r.peer === 'torrent-fish' && r.concurrency === c)
    const lt = exchange.find(r => r.peer === 'libtorrent' && r.concurrency === c)
    if (tf && lt) out.push(target(`CPU per exchange at ${c} conns (ms)`, tf.peerCpuPerExchangeMs, lt.peerCpuPerExchangeMs, 0.5))
  }
  const largest = Math.max(...scale.map(r => r.torrents))
  const tf = scale.find(r => r.peer === 'torrent-fish' && !r.variant && r.torrents === largest)
  const lt = scale.find(r => r.peer === 'libtorrent' && !r.variant && r.torrents === largest)
  if (tf && lt) {
    const note = largest < 100_000 ? `measured at ${largest} torrents, not 100k` : undefined
    out.push(target(`RSS at ${largest} torrents (MiB)`, tf.rssKiB / 1024, lt.rssKiB / 1024, 1 / 8, note))
    out.push(target(`load time at ${largest} torrents (s)`, tf.loadMs / 1000, lt.loadMs / 1000, 1 / 8, note))
  }
  return out
}

export function targetTable (list: Target[]): string {
  return table(
    ['target', 'torrent-fish', 'libtorrent', 'ratio', 'limit', 'verdict'],
    list.map(t => [t.name, f(t.torrentFish, 3), f(t.baseline, 3), f(t.ratio, 3), `<= ${f(t.limit, 3)}`, `${t.pass ? 'PASS' : 'FAIL'}${t.note ? ` (${t.note})` : ''}`])
  )
}
