/**
 * Pools the rows of several hostile-bench runs (e.g. seeds 1-5 of one build) per flood and
 * peer, and judges the pooled phases against issue 8's goals.
 *
 * Why: a row's p99 comes from ~200 exchanges, so it is the phase's second-slowest exchange,
 * and one exchange caught behind an opening burst or another user of the machine decides the
 * row either way (the calm p99 of one build ranged 4-16 ms over one afternoon's rows). Pooled
 * over N runs, the p99 is the N·2nd-slowest of N·200 exchanges: a tail figure, not one event.
 * Every run's own p99s stay in the table beside the pooled one.
 *
 *   node bench/hostile/pool.ts bench/results/hostile-a.json bench/results/hostile-b.json ...
 *   node bench/hostile/pool.ts --label 'new=/tmp/new-*.json' --label 'old=/tmp/old-*.json'
 * Runs saved before the bench kept each exchange's latency (`latenciesMs`) are refused by name.
 */
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type { CaseResult, PhaseFigures } from './run-case.ts'
import { GOALS } from './report.ts'
import { percentileOf as percentile } from './tcp-slots.ts'

interface Saved { meta: { seed?: number, commit?: string }, results: CaseResult[] }

const { values, positionals } = parseArgs({ allowPositionals: true, options: { label: { type: 'string', multiple: true, default: [] } } })

/** `name=glob` (a `*` in the file name only) or a bare path: the files of one group. */
function expand (spec: string): { label: string, files: string[] } {
  const eq = spec.indexOf('=')
  const label = eq > 0 ? spec.slice(0, eq) : ''
  const pattern = eq > 0 ? spec.slice(eq + 1) : spec
  if (!pattern.includes('*')) return { label, files: [pattern] }
  const dir = path.dirname(pattern)
  const re = new RegExp('^' + path.basename(pattern).split('*').map(s => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$')
  return { label, files: readdirSync(dir).filter(f => re.test(f)).sort().map(f => path.join(dir, f)) }
}

const groups = values.label.length > 0 ? values.label.map(expand) : [{ label: '', files: positionals }]
if (groups.every(g => g.files.length === 0)) {
  console.error('usage: node bench/hostile/pool.ts FILE.json... | --label name=DIR/prefix-*.json ...')
  process.exit(2)
}

const ms = (v: number | null): string => (v === null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1))

interface Pool { runs: number, started: number, ok: number, calm: number[], flood: number[], perRun: string[], rssGrowth: number[], died: number }

const rows: string[] = []
for (const group of groups) {
  const pools = new Map<string, Pool>()
  for (const file of group.files) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Saved
    for (const r of saved.results) {
      const calm = r.phases.calm as PhaseFigures
      const flood = r.phases.flood as PhaseFigures
      if (!calm.latenciesMs || !flood.latenciesMs) {
        console.error(`${file}: ${r.flood} / ${r.peer} has no per-exchange latencies (saved by an older bench); run it again`)
        process.exit(1)
      }
      const key = `${r.flood}\u0000${r.peer}`
      let pool = pools.get(key)
      if (!pool) { pool = { runs: 0, started: 0, ok: 0, calm: [], flood: [], perRun: [], rssGrowth: [], died: 0 }; pools.set(key, pool) }
      pool.runs += 1
      pool.started += flood.started
      pool.ok += flood.ok
      pool.calm.push(...calm.latenciesMs)
      pool.flood.push(...flood.latenciesMs)
      pool.perRun.push(`${ms(calm.p99Ms)}/${ms(flood.p99Ms)}`)
      if (r.rssMiB.after !== null && r.rssMiB.before !== null) pool.rssGrowth.push(r.rssMiB.after - r.rssMiB.before)
      if (r.died) pool.died += 1
    }
  }
  for (const [key, pool] of pools) {
    const [flood, peer] = key.split('\u0000')
    const calm = pool.calm.sort((a, b) => a - b)
    const during = pool.flood.sort((a, b) => a - b)
    const calmP99 = percentile(calm, 99)
    const floodP99 = percentile(during, 99)
    const okPct = pool.started ? (100 * pool.ok) / pool.started : null
    const missed: string[] = []
    if (pool.died > 0) missed.push(`died ${pool.died}x`)
    if (okPct === null || okPct < GOALS.okPct) missed.push('ok')
    if (calmP99 === null || floodP99 === null || floodP99 > GOALS.p99Factor * calmP99) missed.push('p99')
    if (pool.rssGrowth.some(g => g > GOALS.rssAfterMiB)) missed.push('rss')
    const ratio = calmP99 && floodP99 !== null ? (floodP99 / calmP99).toFixed(2) + 'x' : '-'
    rows.push(`| ${group.label || '-'} | ${flood} | ${peer} | ${pool.runs} | ${calm.length} / ${during.length} | ${okPct === null ? '-' : okPct.toFixed(okPct >= 99.95 ? 0 : 1)} | ${ms(percentile(calm, 50))} / ${ms(percentile(during, 50))} | ${ms(calmP99)} / ${ms(floodP99)} | ${ratio} | ${pool.perRun.join(', ')} | ${missed.length ? 'missed: ' + missed.join(', ') : 'met'} |`)
  }
}

console.log('| build | flood | peer | runs | exchanges calm / flood | ok % flood | p50 ms calm / flood | pooled p99 ms calm / flood | flood / calm p99 | each run\'s p99 calm/flood | issue 8 goals, pooled |')
console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---|---|')
for (const r of rows) console.log(r)
