/**
 * The default that issue 9 asked for, as a user meets it: `torrent-fish -l dir` with no WebRTC
 * flag at all serves a browser. The torrent's only tracker is its own ws:// tracker; a
 * Chromium WebTorrent leecher gets a magnet naming only that tracker and the web seed. Web
 * seeds cannot give metadata, so a finished, byte-identical download proves the metadata came
 * from torrent-fish, over WebRTC (the answer pool loaded @roamhq/wrtc on first need).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Browser } from 'playwright-core'
import { magnetFor, singleFileTorrent, writeTorrentFiles } from '../fixtures/torrents.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { spawnCli } from '../fixtures/cli.ts'
import { leechInPage, openLeecher, type BrowserEnv, useBrowser } from './harness.ts'

let env: BrowserEnv
let browser: Browser

useBrowser((e, b) => { env = e; browser = b })

test('torrent-fish -l dir answers a browser leecher through the torrent\'s own ws:// tracker, no flags', async t => {
  const torrent = await singleFileTorrent({ size: 200_000, name: `own-ws-${Math.random().toString(36).slice(2)}.bin`, announce: [env.tracker.wsUrl] })
  await env.seed.add(torrent)
  const dir = await tmpDir(t, 'own-ws')
  await writeTorrentFiles(dir, [torrent])
  const announced = env.tracker.waitForAnnounce(torrent.infoHash)
  const fish = await spawnCli(['-l', dir], t)
  t.after(() => fish.stop())
  await announced
  const context = await browser.newContext()
  t.after(() => context.close())
  const page = await context.newPage()
  await openLeecher(page, env)
  const magnet = magnetFor(torrent, { trackers: [env.tracker.wsUrl], webSeeds: [env.seed.url + encodeURIComponent(torrent.name)] })
  const result = await leechInPage(page, magnet)
  assert.deepEqual(new Uint8Array(Buffer.from(result.data, 'base64')), torrent.content[0].data, 'downloaded bytes equal the source')
  assert.ok(result.wires.includes('webrtc'), `the leecher had a WebRTC wire (${result.wires.join(', ')})`)
  const served = await fish.waitFor('metadata-served', e => e.infoHash === torrent.infoHash)
  assert.equal(served.peer.transport, 'webrtc', 'served over WebRTC')
  t.diagnostic(`metadata after ${Math.round(result.metadataMs)} ms, done after ${Math.round(result.ms)} ms`)
})
