// Idle keep-alive HTTP connections: 2,000 from 1,000 addresses in 127.0.0.0/8, each one whole
// request, its reply read, then nothing, never closed, re-opened when closed, against the CLI
// started as `node bin/torrent-fish.js --http`. node:http has no cap on the connections it
// holds; the header gate's served cap (1,024) bounds it, a client from a network of its own
// takes the place of a flooding network's spare idle connection, and a correct BitTorrent
// leecher keeps >= 99%.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { startHttpCli, metric } from './http-face.ts'
import { startFlood, runLeecher, describe } from './load.ts'


/** GET over `agent` (one kept-alive connection: at the cap a network gets one place). */
function get (agent: http.Agent, url: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject)
  })
}

test('2,000 idle keep-alive HTTP connections: node:http holds at most its cap, a correct leecher keeps >= 99%', async (t) => {
  const { cli, infoHash, httpPort, base } = await startHttpCli(t, 'http-idle', 8)

  const flood = await startFlood({ mode: 'http-idle', port: httpPort, count: 2000, sources: 1000, doneAt: 2000 })
  t.after(() => flood.stop())
  await flood.done // every attacking connection has been opened once
  const loaded = await runLeecher({ port: cli.port, infoHash, count: 200, concurrency: 4 })
  // An HTTP client from a network of its own, on one kept-alive connection, as a scraper.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.after(() => agent.destroy())
  const health = await get(agent, `${base}/health`)
  assert.equal(health.status, 200, 'an HTTP client is answered during the flood')
  const metrics = (await get(agent, `${base}/metrics`)).body
  const stats = await flood.stop()
  const served = metric(metrics, 'torrent_fish_http_connections_served')
  t.diagnostic(describe('under idle keep-alive connections', loaded))
  t.diagnostic(`attack: ${stats.connects} connections opened, ${stats.closes} closed; ${served} held by node:http at the scrape`)
  assert.equal(cli.child.exitCode, null, 'still running')
  assert.ok(stats.connects >= 2000, `the whole flood connected (${stats.connects})`)
  assert.ok(served <= 1024, `node:http holds at most its cap (${served})`)
  assert.ok(stats.closes >= 2000 - 1024, `the surplus was closed (${stats.closes} closed)`)
  assert.ok(loaded.rate >= 0.99, describe('under idle keep-alive connections', loaded))
})
