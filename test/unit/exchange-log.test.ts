import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ManualClock } from '../fixtures/clock.ts'
import { ExchangeLog, EXCHANGE_LINES_PER_WINDOW, EXCHANGE_WINDOW_MS, type ExchangeSummary } from '../../src/cli/exchange-log.ts'

function setUp (everyLine = false): { log: ExchangeLog<number>, lines: number[], summaries: ExchangeSummary[], clock: ManualClock } {
  const lines: number[] = []
  const summaries: ExchangeSummary[] = []
  const clock = new ManualClock()
  const log = new ExchangeLog<number>(everyLine, e => lines.push(e), s => summaries.push(s), clock)
  return { log, lines, summaries, clock }
}

test('a few exchanges a second each get their line and no summary', async () => {
  const { log, lines, summaries, clock } = setUp()
  for (let i = 0; i < 3; i++) { log.served1(i, 'tcp'); await clock.advance(100) }
  await clock.advance(5 * EXCHANGE_WINDOW_MS)
  for (let i = 3; i < 3 + EXCHANGE_LINES_PER_WINDOW; i++) log.served1(i, 'tcp')
  assert.equal(lines.length, 3 + EXCHANGE_LINES_PER_WINDOW)
  assert.equal(summaries.length, 0)
  assert.equal(clock.pending, 0, 'no timer when nothing was held back')
})

test('beyond the lines of a window, the window ends with one summary that counts every exchange', async () => {
  const { log, lines, summaries, clock } = setUp()
  const n = EXCHANGE_LINES_PER_WINDOW + 25
  for (let i = 0; i < n; i++) log.served1(i, i % 5 === 0 ? 'utp' : 'tcp')
  assert.equal(lines.length, EXCHANGE_LINES_PER_WINDOW)
  assert.deepEqual(lines, Array.from({ length: EXCHANGE_LINES_PER_WINDOW }, (_, i) => i), 'the first ones, in order')
  assert.equal(summaries.length, 0, 'not before the window ends')
  await clock.advance(EXCHANGE_WINDOW_MS - 1)
  assert.equal(summaries.length, 0)
  await clock.advance(1)
  assert.equal(summaries.length, 1)
  assert.deepEqual(summaries[0], { served: n, logged: EXCHANGE_LINES_PER_WINDOW, byTransport: { tcp: n - 7, utp: 7 }, ms: EXCHANGE_WINDOW_MS })
  // The next window starts with lines again.
  log.served1(100, 'tcp')
  assert.equal(lines.at(-1), 100)
})

test('exchanges that arrive while the summary is due are counted in it', async () => {
  const { log, lines, summaries, clock } = setUp()
  for (let i = 0; i < EXCHANGE_LINES_PER_WINDOW + 1; i++) log.served1(i, 'tcp')
  await clock.advance(EXCHANGE_WINDOW_MS / 2)
  log.served1(99, 'webrtc')
  await clock.advance(EXCHANGE_WINDOW_MS / 2)
  assert.equal(lines.length, EXCHANGE_LINES_PER_WINDOW)
  assert.deepEqual(summaries.map(s => [s.served, s.byTransport]), [[EXCHANGE_LINES_PER_WINDOW + 2, { tcp: EXCHANGE_LINES_PER_WINDOW + 1, webrtc: 1 }]])
})

test('flush() prints a pending summary at once, and only once', async () => {
  const { log, summaries, clock } = setUp()
  for (let i = 0; i < EXCHANGE_LINES_PER_WINDOW + 3; i++) log.served1(i, 'tcp')
  await clock.advance(10)
  log.flush()
  assert.deepEqual(summaries.map(s => [s.served, s.ms]), [[EXCHANGE_LINES_PER_WINDOW + 3, 10]])
  await clock.advance(EXCHANGE_WINDOW_MS)
  log.flush()
  assert.equal(summaries.length, 1)
})

test('every line, no summary, when each exchange is asked for (-v)', async () => {
  const { log, lines, summaries, clock } = setUp(true)
  for (let i = 0; i < 3 * EXCHANGE_LINES_PER_WINDOW; i++) log.served1(i, 'tcp')
  await clock.advance(EXCHANGE_WINDOW_MS)
  assert.equal(lines.length, 3 * EXCHANGE_LINES_PER_WINDOW)
  assert.equal(summaries.length, 0)
})
