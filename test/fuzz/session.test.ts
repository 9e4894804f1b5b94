/**
 * CI slice of the session fuzz suite (test/fuzz/session-fuzz.ts): mutated BitTorrent sessions
 * against a real MetadataPeer over the in-memory transport, time-boxed. The seed is random
 * unless FUZZ_SEED is set, and printed; a failure lists each failing case with the command
 * that replays it (`npm run fuzz -- session --seed N --case I`). FUZZ_SECONDS changes the box.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runFuzz, describeFailures } from './pool.ts'

const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0
const seconds = Number(process.env.FUZZ_SECONDS ?? 40)

test(`session fuzz: ${seconds} s of mutated sessions (seed ${seed})`, { timeout: (seconds + 120) * 1000 }, async t => {
  t.diagnostic(`fuzz seed ${seed}: replay with FUZZ_SEED=${seed} or npm run fuzz -- session --seed ${seed}`)
  const report = await runFuzz({ kind: 'session', seed, seconds, workers: 1, maxHeapMiB: 256 }) as any
  t.diagnostic(`${report.cases} connections, ${report.parsed} messages parsed by the peer (${report.messages} written before mutation), ${report.dataMessages} metadata pieces checked byte for byte, ${report.bytesOut} bytes validated, closes ${JSON.stringify(report.closes)}, heap ${report.heapUsedMiB} MiB`)
  assert.equal(report.workerErrors.length + report.failures.length, 0, `seed ${seed}:\n${describeFailures('session', report)}`)
  assert.ok(report.cases > 100, `only ${report.cases} cases ran`)
  assert.equal(report.openAtEnd, 0, 'every connection closed')
  assert.ok(report.dataMessages > 0, 'the control cases got metadata (the checks are not vacuous)')
})
