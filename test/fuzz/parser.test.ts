/**
 * CI slice of the parser fuzz suite (test/fuzz/parser-fuzz.ts): mutated and random .torrent
 * bytes through parseTorrent and the bencode scanner, time-boxed; seed random unless
 * FUZZ_SEED is set, printed, and each failing case listed with its replay command.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runFuzz, describeFailures } from './pool.ts'

const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0
const seconds = Number(process.env.FUZZ_PARSER_SECONDS ?? 15)

test(`parser fuzz: ${seconds} s of mutated .torrent files (seed ${seed})`, { timeout: (seconds + 120) * 1000 }, async t => {
  t.diagnostic(`fuzz seed ${seed}: replay with FUZZ_SEED=${seed} or npm run fuzz -- parser --seed ${seed}`)
  const report = await runFuzz({ kind: 'parser', seed, seconds, workers: 1, maxHeapMiB: 256 }) as any
  t.diagnostic(`${report.cases} inputs: ${report.parsedOk} parsed and checked, ${report.rejected} rejected with InvalidTorrentError, ${report.scannerCanonical} canonical values the scanner had to accept; slowest call ${report.slowestMs.toFixed(1)} ms`)
  assert.equal(report.workerErrors.length + report.failures.length, 0, `seed ${seed}:\n${describeFailures('parser', report)}`)
  assert.ok(report.parsedOk > 0 && report.rejected > 0, 'both outcomes were exercised')
})
