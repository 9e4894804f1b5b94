/**
 * The CLI's line per metadata exchange over real loopback sockets: a handful of exchanges a
 * second each get a line; a burst gets its first lines and one summary that counts all of it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fetchMetadataTcp, spawnCli, type CliEvent } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'
import { parseTorrent } from '../../src/index.ts'
import { EXCHANGE_LINES_PER_WINDOW } from '../../src/cli/exchange-log.ts'

const fetchOnce = async (port: number, infoHash: string): Promise<number> => (await fetchMetadataTcp(port, infoHash)).length

/**
 * `n` exchanges, 8 at a time: more connections from one address than admission lets handshake
 * at once would be evicted (issue 8's per-address half-open cap).
 */
async function fetchMany (port: number, infoHash: string, n: number): Promise<number[]> {
  const sizes: number[] = []
  const worker = async (): Promise<void> => { while (sizes.length < n) { const i = sizes.length; sizes.push(0); sizes[i] = await fetchOnce(port, infoHash) } }
  await Promise.all(Array.from({ length: 8 }, worker))
  return sizes
}

/** Exchanges the log accounts for so far: one per line, plus those a summary counted without a line. */
function accounted (events: CliEvent[]): number {
  let n = 0
  for (const e of events) {
    if (e.event === 'metadata-served') n += 1
    if (e.event === 'metadata-served-summary') n += e.served - e.logged
  }
  return n
}

test('a burst of exchanges: the first ones logged one by one, then one summary counting every exchange', async (t) => {
  const dir = await tmpDir(t)
  const torrent = makeTorrent()
  await writeFile(path.join(dir, 'a.torrent'), torrent.torrentBytes)
  const infoHash = (await parseTorrent(torrent.torrentBytes)).infoHash
  const fish = await spawnCli(['-l', dir], t)
  const n = 4 * EXCHANGE_LINES_PER_WINDOW
  const summary = fish.waitFor('metadata-served-summary')
  summary.catch(() => {})
  const sizes = await fetchMany(fish.port, infoHash, n)
  assert.ok(sizes.every(s => s > 0))
  const s = await summary
  assert.equal(s.level, 'info')
  assert.ok(s.served > s.logged && s.logged === EXCHANGE_LINES_PER_WINDOW, `${s.served} served, ${s.logged} logged`)
  assert.equal(s.byTransport.tcp, s.served)
  assert.match(s.message, /^served metadata \d+ times in [\d.]+ s \(\d+ over tcp\); 10 logged one by one, -v logs each$/)
  // Every exchange is in the log once, as a line or in the count (a burst may span two windows).
  const all = (): boolean => accounted(fish.events) === n
  const lines = fish.waitFor('metadata-served', all)
  const summaries = fish.waitFor('metadata-served-summary', all)
  lines.catch(() => {})
  summaries.catch(() => {})
  await Promise.race([lines, summaries])
  assert.equal(accounted(fish.events), n)
  assert.equal(await fish.stop(), 0)
})

test('with -v every exchange has its line and there is no summary', async (t) => {
  const dir = await tmpDir(t)
  const torrent = makeTorrent()
  await writeFile(path.join(dir, 'a.torrent'), torrent.torrentBytes)
  const infoHash = (await parseTorrent(torrent.torrentBytes)).infoHash
  const fish = await spawnCli(['-l', dir, '-v'], t)
  const n = 2 * EXCHANGE_LINES_PER_WINDOW
  let lines = 0
  const all = fish.waitFor('metadata-served', () => ++lines === n)
  await fetchMany(fish.port, infoHash, n)
  await all
  assert.equal(await fish.stop(), 0)
  assert.equal(fish.events.filter(e => e.event === 'metadata-served').length, n)
  assert.equal(fish.events.filter(e => e.event === 'metadata-served-summary').length, 0)
})
