// Slow HTTP headers (slowloris against --http): 2,000 connections from 1,000 addresses in
// 127.0.0.0/8, each a request line and then a header byte every 2 s, never the blank line,
// re-opened when closed, against the CLI started as `node bin/torrent-fish.js`. They wait in
// the header gate as bare handles, never reaching node:http (whose socket and parser per
// connection, built and closed by the thousand, held the event loop ~100 ms at a time), while a
// correct BitTorrent leecher keeps >= 99% and an HTTP client is answered.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startHttpCli, metric } from './http-face.ts'
import { startFlood, runLeecher, describe } from './load.ts'


test('2,000 slow-header HTTP connections: held before node:http, a correct leecher keeps >= 99%', async (t) => {
  const { cli, infoHash, httpPort, base } = await startHttpCli(t, 'http-slow', 7)

  const flood = await startFlood({ mode: 'http-slow', port: httpPort, count: 2000, sources: 1000, dripMs: 2000, doneAt: 2000 })
  t.after(() => flood.stop())
  // Measure under the whole flood: on a slow machine the leecher's 200 exchanges can be over
  // before the attacker has opened its 2,000 connections (CI once saw that).
  await flood.done
  const loaded = await runLeecher({ port: cli.port, infoHash, count: 200, concurrency: 4 })
  const health = await fetch(`${base}/health`)
  assert.equal(health.status, 200, 'an HTTP client is answered during the flood')
  const metrics = await (await fetch(`${base}/metrics`)).text()
  const stats = await flood.stop()
  t.diagnostic(describe('under slow HTTP headers', loaded))
  const pending = metric(metrics, 'torrent_fish_http_connections_pending')
  t.diagnostic(`attack: ${stats.connects} connections opened, ${stats.closes} closed; ${pending} waiting in the header gate at the scrape`)
  assert.equal(cli.child.exitCode, null, 'still running')
  assert.ok(stats.connects >= 2000, `the whole flood connected (${stats.connects})`)
  assert.ok(pending >= 1000, `most of the flood waits in the gate, not in node:http (${pending})`)
  assert.ok(loaded.rate >= 0.99, describe('under slow HTTP headers', loaded))
})
