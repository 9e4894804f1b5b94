/**
 * Web seed health against a real HTTP web seed: files present are ok; a file removed from the
 * web seed is flagged `missing` within one check interval (with a warning); a file of the
 * wrong size, an unreachable seed and a seed that refuses HEAD are told apart; the result
 * shows in /health, /metrics and the status page; requests keep to the rate limit.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { rm, truncate } from 'node:fs/promises'
import path from 'node:path'
import { createTorrentFish, type TorrentFish } from '../../src/node/torrent-fish.ts'
import { WebSeedHealth, webSeedFileUrl, type WebSeedStatus } from '../../src/node/web-seed-health.ts'
import type { Warning } from '../../src/core/metadata-peer.ts'
import { multiFileTorrent, singleFileTorrent } from '../fixtures/torrents.ts'
import { startTestWebSeed } from '../fixtures/web-seed.ts'

const INTERVAL_MS = 300

/** Resolves with the next status of `infoHash` that satisfies `want`. */
function statusOf (fish: TorrentFish, infoHash: string, want: (s: WebSeedStatus) => boolean): Promise<WebSeedStatus> {
  const current = fish.webSeedHealth!.get(infoHash)
  if (current && want(current)) return Promise.resolve(current)
  return new Promise(resolve => {
    const on = (s: WebSeedStatus): void => {
      if (s.infoHash === infoHash && want(s)) { fish.webSeedHealth!.off('change', on); resolve(s) }
    }
    fish.webSeedHealth!.on('change', on)
  })
}

test('files present are ok; a removed file is flagged missing within one interval, a truncated one wrong-size', async t => {
  const seed = await startTestWebSeed(t)
  const single = await singleFileTorrent({ name: 'health-single.bin', urlList: [seed.url] })
  const multi = await multiFileTorrent({ name: 'health-multi', urlList: [seed.url.slice(0, -1)] }) // no trailing '/': BEP 19 still means a base
  await seed.add(single, multi)
  const fish = await createTorrentFish({
    port: 0, listenInterface: '127.0.0.1', webSeedCheck: { intervalMs: INTERVAL_MS, requestsPerSecond: 200 }, http: { port: 0, host: '127.0.0.1', processMetrics: false }
  })
  t.after(() => fish.close())
  const warnings: Warning[] = []
  fish.on('warning', w => warnings.push(w))
  await fish.addTorrent(single.torrentBytes)
  await fish.addTorrent(multi.torrentBytes)

  const ok1 = await statusOf(fish, single.infoHash, s => s.status === 'ok')
  const ok2 = await statusOf(fish, multi.infoHash, s => s.status === 'ok')
  assert.equal(ok1.urls[0].filesChecked, 1)
  assert.equal(ok2.urls[0].filesChecked, multi.content.length)
  assert.ok(seed.hits.has('/health-single.bin'))
  assert.ok(seed.hits.has('/health-multi/sub/file-1.dat'), 'multi-file: <base>/<name>/<path>')

  // Remove one file of the multi-file torrent from the web seed.
  const removed = multi.content[2]
  await rm(path.join(seed.root, multi.name, ...removed.path.split('/')))
  const t0 = Date.now()
  const missing = await statusOf(fish, multi.infoHash, s => s.status === 'missing')
  const took = Date.now() - t0
  assert.ok(took <= INTERVAL_MS + 500, `flagged after ${took} ms, interval ${INTERVAL_MS} ms`)
  assert.match(missing.reason!, /HTTP 404/)
  assert.ok(missing.reason!.includes(encodeURIComponent(path.basename(removed.path))), missing.reason)
  await new Promise(resolve => setImmediate(resolve))
  assert.ok(warnings.some(w => w.code === 'WARN_WEB_SEED_MISSING' && w.infoHash === multi.infoHash), 'a warning names the torrent')
  t.diagnostic(`removed file flagged after ${took} ms (interval ${INTERVAL_MS} ms)`)

  // Truncate the single file: the size no longer matches.
  await truncate(path.join(seed.root, single.name), 10)
  const wrong = await statusOf(fish, single.infoHash, s => s.status === 'wrong-size')
  assert.match(wrong.reason!, /10 bytes, the torrent says 102400/)

  // Everywhere an operator looks.
  const health = await (await fetch(`${fish.http!.url}/health`)).json() as any
  assert.equal(health.webSeeds.missing, 1)
  assert.equal(health.webSeeds['wrong-size'], 1)
  const metrics = await (await fetch(`${fish.http!.url}/metrics`)).text()
  assert.match(metrics, /torrent_fish_web_seed_torrents\{status="missing"\} 1/)
  assert.match(metrics, /torrent_fish_web_seed_checks_total\{result="ok"\} [1-9]/)
  const page = await (await fetch(`${fish.http!.url}/`)).text()
  assert.match(page, />missing</)
  assert.match(page, />wrong-size</)

  // Put the file back: ok again on the next pass.
  await seed.add(multi)
  await statusOf(fish, multi.infoHash, s => s.status === 'ok')
})

test('an unreachable web seed is an error, not missing; a removed torrent is forgotten', async t => {
  const gone = await startTestWebSeed()
  const url = gone.url
  await gone.close()
  const torrent = await singleFileTorrent({ name: 'unreachable.bin', urlList: [url] })
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', webSeedCheck: { intervalMs: 60_000, timeoutMs: 2000 } })
  t.after(() => fish.close())
  await fish.addTorrent(torrent.torrentBytes)
  const s = await statusOf(fish, torrent.infoHash, x => x.status !== 'ok')
  assert.equal(s.status, 'error')
  assert.match(s.reason!, /ECONNREFUSED/)
  fish.removeTorrent(torrent.infoHash)
  assert.equal(fish.webSeedHealth!.get(torrent.infoHash), undefined)
  assert.equal(fish.webSeedHealth!.summary().error, 0)
})

test('one good web seed out of two is enough; a seed that refuses HEAD is checked with a Range GET', async t => {
  const good = await startTestWebSeed(t)
  // A seed that answers HEAD with 405 and serves a one-byte Range with the total size.
  const size = 4321
  const ranges: string[] = []
  const noHead = http.createServer((req, res) => {
    if (req.method === 'HEAD') { res.writeHead(405); return void res.end() }
    ranges.push(String(req.headers.range))
    res.writeHead(206, { 'Content-Range': `bytes 0-0/${size}`, 'Content-Length': 1 })
    res.end('x')
  })
  await new Promise<void>(resolve => noHead.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>(resolve => { noHead.closeAllConnections(); noHead.close(() => resolve()) }))
  const noHeadUrl = `http://127.0.0.1:${(noHead.address() as { port: number }).port}/file.bin`

  const torrent = await singleFileTorrent({ name: 'two-seeds.bin', size, urlList: [`${good.url}missing/`, noHeadUrl] })
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', listen: false })
  t.after(() => fish.close())
  await fish.addTorrent(torrent.torrentBytes)
  const checker = new WebSeedHealth(fish, { intervalMs: 60_000 })
  t.after(() => checker.close())
  const s = await checker.checkTorrent(torrent.infoHash)
  assert.equal(s!.status, 'ok')
  assert.equal(s!.urls[0].status, 'missing')
  assert.equal(s!.urls[1].status, 'ok')
  assert.deepEqual(ranges, ['bytes=0-0'])
})

test('requests keep to the rate limit', async t => {
  const seed = await startTestWebSeed(t)
  const torrents = await Promise.all(Array.from({ length: 6 }, (_, i) => singleFileTorrent({ name: `rate-${i}.bin`, size: 1000, urlList: [seed.url] })))
  await seed.add(...torrents)
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', listen: false })
  t.after(() => fish.close())
  for (const x of torrents) await fish.addTorrent(x.torrentBytes)
  const times: number[] = []
  seed.server.prependListener('request', () => times.push(Date.now()))
  const checker = new WebSeedHealth(fish, { intervalMs: 60_000, requestsPerSecond: 20, concurrency: 4 })
  t.after(() => checker.close())
  await checker.checkAll()
  assert.equal(times.length, 6)
  assert.equal(checker.summary().ok, 6)
  // 6 requests at 20/s: the last starts at least 5 * 50 ms after the first.
  assert.ok(times[5] - times[0] >= 5 * 50 - 10, `spread over ${times[5] - times[0]} ms`)
})

test('BEP 19 file URLs', () => {
  assert.equal(webSeedFileUrl('http://h/a.bin', { singleFile: true }, ['a.bin']), 'http://h/a.bin')
  assert.equal(webSeedFileUrl('http://h/dir/', { singleFile: true }, ['a b.bin']), 'http://h/dir/a%20b.bin')
  assert.equal(webSeedFileUrl('http://h/dir', { singleFile: false }, ['name', 'sub', 'x#1.dat']), 'http://h/dir/name/sub/x%231.dat')
  assert.equal(webSeedFileUrl('http://h/', { singleFile: false }, ['name', 'f']), 'http://h/name/f')
})
