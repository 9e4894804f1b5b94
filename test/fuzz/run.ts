#!/usr/bin/env node
/**
 * `npm run fuzz -- [session|parser|all] [--seed N] [--seconds S] [--runs N] [--workers W] [--case I,...]`
 *
 * The long fuzz run (CI runs a time-boxed slice of the same code from test/fuzz/*.test.ts).
 * Defaults: both suites, a random seed, 120 s each, one worker per core. Prints the seed
 * first, progress every few seconds, then a summary; exits 1 on any failure with the command
 * that replays each failing case (`--seed N --case I`).
 */
import os from 'node:os'
import { parseArgs } from 'node:util'
import { runFuzz, describeFailures } from './pool.ts'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: 'string' },
    seconds: { type: 'string' },
    runs: { type: 'string' },
    workers: { type: 'string' },
    case: { type: 'string' }
  }
})
const kinds = (positionals[0] ?? 'all') === 'all' ? ['session', 'parser'] as const : [positionals[0] as 'session' | 'parser']
if (!kinds.every(k => k === 'session' || k === 'parser')) {
  console.error(`unknown suite "${positionals[0]}": expected session, parser or all`)
  process.exit(2)
}
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Math.random() * 2 ** 32) >>> 0
const only = values.case?.split(',').map(Number)
const runs = values.runs !== undefined ? Number(values.runs) : undefined
const seconds = values.seconds !== undefined ? Number(values.seconds) : runs !== undefined || only ? undefined : 120
const workers = Number(values.workers ?? os.availableParallelism())
console.log(`fuzz seed ${seed} (replay with --seed ${seed}); ${kinds.join(' + ')}; ${only ? `cases ${only.join(',')}` : `${seconds ?? '-'} s, ${runs ?? 'unlimited'} runs, ${workers} workers`}`)

let failed = false
for (const kind of kinds) {
  const report = await runFuzz({ kind, seed, seconds, runs, workers, only }, (w, r) => {
    console.log(`  ${kind} worker ${w}: ${r.cases} cases${'parsed' in r ? `, ${r.parsed} messages parsed` : ''}, ${r.failures.length} failing`)
  })
  const { failures, kinds: k, workerErrors, ...figures } = report as any
  console.log(`${kind}: ${JSON.stringify(figures)}`)
  if (kind === 'session') {
    const rate = Math.round(figures.parsed / (figures.ms / 1000))
    console.log(`${kind}: ${figures.parsed} messages parsed by the peer (${figures.messages} written before mutation) in ${figures.cases} connections, ${rate}/s over ${workers} workers`)
  }
  if (failures.length > 0 || workerErrors.length > 0) {
    failed = true
    console.log(`${kind}: FAILED (seed ${seed})\n${describeFailures(kind, report, only ? 100 : 10)}`)
  } else {
    console.log(`${kind}: ok`)
  }
}
process.exit(failed ? 1 : 0)
