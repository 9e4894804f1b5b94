/**
 * The hostile bench's report: one markdown table of figures (a row per flood and peer), the
 * issue 8 goals judged per row, and a list of what each flood sent and how the leecher failed.
 */
import type { CaseResult, PhaseFigures } from './run-case.ts'
import { GENERATOR_BUSY_PCT } from './run-case.ts'

export const COLUMNS = [
  'flood', 'peer', 'peer process',
  'ok % calm', 'ok % flood', 'ok % after',
  'p50 ms calm', 'p50 ms flood', 'p99 ms calm', 'p99 ms flood',
  'RSS MiB before', 'RSS MiB peak', 'RSS MiB after',
  'peer CPU % flood', 'CPU ms / unit', 'gen CPU %', 'other CPU %',
  'issue 8 goals'
]

/** Issue 8's goals for a peer under each flood. */
export const GOALS = {
  /** The correct leecher's success during the flood, at least. */
  okPct: 99,
  /** Its p99 during the flood, at most this times its calm p99. */
  p99Factor: 3,
  /** RSS after the flood, at most this above RSS before it. */
  rssAfterMiB: 64
}

const f = (n: number | null | undefined, digits = 0): string => (n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits))
const pct = (p: PhaseFigures): string => (p.okPct === null ? '-' : p.okPct >= 99.95 || p.okPct < 0.05 ? p.okPct.toFixed(0) : p.okPct.toFixed(1))
const latency = (v: number | null): string => (v === null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(0))

/** The goals this row misses: "died", "ok", "p99", "rss"; empty when all are met. */
export function missedGoals (r: CaseResult): string[] {
  const missed: string[] = []
  if (r.died) missed.push('died')
  if (r.phases.flood.okPct === null || r.phases.flood.okPct < GOALS.okPct) missed.push('ok')
  const calm = r.phases.calm.p99Ms
  const flood = r.phases.flood.p99Ms
  if (calm === null || flood === null || flood > GOALS.p99Factor * calm) missed.push('p99')
  if (r.rssMiB.after === null || r.rssMiB.before === null || r.rssMiB.after - r.rssMiB.before > GOALS.rssAfterMiB) missed.push('rss')
  return missed
}

function processCell (r: CaseResult): string {
  if (r.error && !r.died && !r.command) return `not started`
  if (!r.died) return 'alive'
  return `**died** ${r.died.phase === 'calm' ? 'before the flood' : `+${r.died.afterFloodStartS.toFixed(1)} s`} (${r.died.code !== null ? `exit ${r.died.code}` : r.died.signal})`
}

function row (r: CaseResult): string[] {
  const missed = missedGoals(r)
  // A peer that died in the flood did no more work: its CPU figures would read as "cheap".
  const deadInFlood = r.died !== null && r.died.phase !== 'after'
  return [
    r.flood, r.peer, processCell(r),
    pct(r.phases.calm), pct(r.phases.flood), pct(r.phases.after),
    latency(r.phases.calm.p50Ms), latency(r.phases.flood.p50Ms), latency(r.phases.calm.p99Ms), latency(r.phases.flood.p99Ms),
    f(r.rssMiB.before), f(r.rssMiB.peak), f(r.rssMiB.after),
    deadInFlood ? '-' : f(r.peerCpuPct.flood), deadInFlood || r.cpuMsPerUnit === null ? '-' : `${r.cpuMsPerUnit < 0.1 ? r.cpuMsPerUnit.toFixed(3) : r.cpuMsPerUnit.toFixed(2)}/${r.unit?.replace(/s$/, '')}`,
    f(r.generatorCpuPct) + (r.generatorCpuPct !== null && r.generatorCpuPct > GENERATOR_BUSY_PCT ? ' (bound)' : ''), f(r.otherCpuPct),
    missed.length === 0 ? 'met' : `missed: ${missed.join(', ')}`
  ]
}

export function markdownTable (results: CaseResult[]): string {
  const lines = [`| ${COLUMNS.join(' | ')} |`, `|${COLUMNS.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`]
  for (const r of results) lines.push(`| ${row(r).join(' | ')} |`)
  return lines.join('\n')
}

function errors (p: PhaseFigures): string {
  const e = Object.entries(p.errors).sort((a, b) => b[1] - a[1])
  return e.length === 0 ? 'none' : e.map(([k, v]) => `${k} ${v}`).join(', ')
}

/** What each flood sent, how the leecher's attempts failed, deaths and generator limits. */
export function notes (results: CaseResult[]): string {
  const out: string[] = []
  for (const r of results) {
    const parts: string[] = []
    if (r.floodReport) parts.push(r.floodReport.summary)
    parts.push(`leecher ${r.phases.flood.ok}/${r.phases.flood.started} during the flood (failures: ${errors(r.phases.flood)}), ${r.phases.after.ok}/${r.phases.after.started} after`)
    const slow = r.phases.flood.slowest
    if (slow && slow.length > 0) {
      const steady = r.phases.flood.p99AfterFirstSecondMs
      parts.push(`slowest exchanges of the flood phase started at ${slow.map(x => `${(x.atMs / 1000).toFixed(1)} s`).join(', ')}${steady != null ? `; p99 of those started after its first second ${latency(steady)} ms` : ''}`)
    }
    const answer = r.phases.flood.answerP99Ms
    if (answer && (answer.firstSecond !== null || answer.later !== null)) parts.push(`time to the peer's answer (served or refused), p99: ${latency(answer.firstSecond)} ms in the flood's first second, ${latency(answer.later)} ms after it`)
    const sp = r.sched?.peer.firstSecond
    const sl = r.sched?.leecher.firstSecond
    if (sp) parts.push(`in the flood's first second the peer's threads ran ${f(sp.runMs)} ms and waited ${f(sp.waitMs)} ms for a CPU${sl ? ` (the leecher's: ${f(sl.runMs)} / ${f(sl.waitMs)} ms)` : ''}${r.peerCpus !== undefined ? `; peer on CPU ${r.peerCpus}` : '; not pinned'}`)
    if (r.http) parts.push(`HTTP probe (GET /<infohash>.torrent): ${pct(r.http.calm)}% ok calm, ${pct(r.http.flood)}% during the flood (p99 ${latency(r.http.flood.p99Ms)} ms; failures: ${errors(r.http.flood)}), ${pct(r.http.after)}% after`)
    if (r.died) parts.push(`peer process died in the ${r.died.phase} phase${r.died.error ? `: \`${r.died.error}\`` : ''}`)
    if (r.generatorCpuPct !== null && r.generatorCpuPct > GENERATOR_BUSY_PCT) parts.push(`the flood generator was ${f(r.generatorCpuPct)}% busy: it, not the peer, may have set the flood's pace`)
    if (r.error) parts.push(`error: ${r.error}`)
    out.push(`- **${r.flood} / ${r.peer}**: ${parts.join('; ')}`)
  }
  return out.join('\n')
}
