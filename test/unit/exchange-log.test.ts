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

test('with a feed, a window whose lines are spent pauses the events and counts the rest from the feed', async () => {
  const lines: number[] = []
  const summaries: ExchangeSummary[] = []
  const clock = new ManualClock()
  // A service's cumulative counters, and whether it is sending events.
  const served: Record<string, number> = { tcp: 500 }
  let sending = true
  const feed = { pause: () => { sending = false }, resume: () => { sending = true }, servedByTransport: () => ({ ...served }) }
  const log = new ExchangeLog<number>(false, e => lines.push(e), s => summaries.push(s), clock, feed)
  const exchange = (i: number, transport: string): void => {
    served[transport] = (served[transport] ?? 0) + 1
    if (sending) log.served1(i, transport)
  }
  for (let i = 0; i < EXCHANGE_LINES_PER_WINDOW; i++) exchange(i, 'tcp')
  assert.equal(sending, true, 'still sending while lines are left')
  exchange(100, 'tcp')
  assert.equal(sending, false, 'paused once a line was held back')
  for (let i = 0; i < 40; i++) exchange(200 + i, i % 4 === 0 ? 'utp' : 'tcp')
  await clock.advance(EXCHANGE_WINDOW_MS)
  assert.equal(sending, true, 'resumed when the window ended')
  assert.equal(lines.length, EXCHANGE_LINES_PER_WINDOW)
  assert.deepEqual(summaries, [{ served: EXCHANGE_LINES_PER_WINDOW + 41, logged: EXCHANGE_LINES_PER_WINDOW, byTransport: { tcp: EXCHANGE_LINES_PER_WINDOW + 31, utp: 10 }, ms: EXCHANGE_WINDOW_MS }])
  // The next window logs lines again, and flush() at exit counts what the feed saw meanwhile.
  exchange(300, 'tcp')
  assert.equal(lines.at(-1), 300)
  for (let i = 0; i < EXCHANGE_LINES_PER_WINDOW + 5; i++) exchange(400 + i, 'webrtc')
  log.flush()
  assert.equal(sending, true)
  assert.deepEqual(summaries[1].byTransport, { tcp: 1, webrtc: EXCHANGE_LINES_PER_WINDOW + 5 })
  assert.equal(summaries[1].served, EXCHANGE_LINES_PER_WINDOW + 6)
})
