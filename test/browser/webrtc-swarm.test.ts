/**
 * Real Chromium, real WebTorrent, real WebRTC. Every leecher gets only a magnet: `xt`, `tr=`
 * the local ws tracker and `ws=` the web seed. Web seeds cannot give metadata, so a finished
 * download proves the metadata came from our peer; the bytes are compared with the source.
 *
 *  - tab A (the demo page, holding a torrent) serves a WebTorrent leecher in tab B, a separate
 *    browser context;
 *  - a Node TorrentFish (hybrid, @roamhq/wrtc) serves a WebTorrent leecher in a tab;
 *  - a demo tab serves a WebTorrent leecher in Node (node-datachannel).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Browser } from 'playwright-core'
import WebTorrent from 'webtorrent'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import { magnetFor, singleFileTorrent, type FixtureTorrent } from '../fixtures/torrents.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { leechInPage, openDemo, openLeecher, type BrowserEnv, useBrowser } from './harness.ts'

let env: BrowserEnv
let browser: Browser

useBrowser((e, b) => { env = e; browser = b })

async function fixture (size = 200_000): Promise<{ torrent: FixtureTorrent, magnet: string }> {
  const torrent = await singleFileTorrent({ size, name: `swarm-${Math.random().toString(36).slice(2)}.bin` })
  await env.seed.add(torrent)
  const magnet = magnetFor(torrent, { trackers: [env.tracker.wsUrl], webSeeds: [env.seed.url + encodeURIComponent(torrent.name)] })
  return { torrent, magnet }
}

/** Waits until the tracker lists a swarm for the torrent (our peer announced). */
async function announced (infoHash: string): Promise<void> {
  while (!env.tracker.server.torrents[infoHash]) await once(env.tracker.server, 'start')
}

test('a demo tab serves the metadata to a WebTorrent tab in another context; content byte-identical', async () => {
  const { torrent, magnet } = await fixture()
  const contextA = await browser.newContext()
  const contextB = await browser.newContext()
  try {
    const a = await contextA.newPage()
    await openDemo(a, env.demoUrl())
    await a.setInputFiles('#file-input', { name: 'swarm.torrent', mimeType: 'application/x-bittorrent', buffer: Buffer.from(torrent.torrentBytes) })
    await a.waitForSelector(`tr[data-infohash="${torrent.infoHash}"]`)
    await announced(torrent.infoHash)

    const b = await contextB.newPage()
    await openLeecher(b, env)
    const result = await leechInPage(b, magnet)
    assert.deepEqual(new Uint8Array(Buffer.from(result.data, 'base64')), torrent.content[0].data, 'downloaded bytes equal the source')
    assert.ok(result.wires.includes('webrtc'), `the leecher had a WebRTC wire (${result.wires.join(', ')})`)
    const served = await a.evaluate(h => (window as any).demo.fish.torrentStats(h).metadataServed, torrent.infoHash)
    assert.equal(served, 1, 'tab A served the metadata once')
    console.error(`# browser->browser: metadata after ${Math.round(result.metadataMs)} ms, done after ${Math.round(result.ms)} ms`)
  } finally {
    await contextA.close()
    await contextB.close()
  }
})

test('a Node hybrid TorrentFish serves a WebTorrent leecher in a tab', async () => {
  const { torrent, magnet } = await fixture()
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', wsTrackers: [env.tracker.wsUrl], webrtc: { rtcConfig: { iceServers: [] } } })
  const context = await browser.newContext()
  try {
    await fish.addTorrent(torrent.torrentBytes, { source: 'test', pin: true })
    await announced(torrent.infoHash)
    const page = await context.newPage()
    await openLeecher(page, env)
    const result = await leechInPage(page, magnet)
    assert.deepEqual(new Uint8Array(Buffer.from(result.data, 'base64')), torrent.content[0].data)
    assert.equal(fish.torrentStats(torrent.infoHash).metadataServed, 1)
    assert.equal(fish.getStats().byTransport.webrtc.metadataServed, 1, 'served over WebRTC')
    console.error(`# node hybrid->browser: metadata after ${Math.round(result.metadataMs)} ms, done after ${Math.round(result.ms)} ms`)
  } finally {
    await context.close()
    await fish.close()
  }
})

test('a demo tab serves a WebTorrent leecher in Node (Node WebRTC)', async t => {
  const { torrent, magnet } = await fixture()
  const context = await browser.newContext()
  const dir = await tmpDir(t, 'wt-node')
  const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, tracker: { rtcConfig: { iceServers: [] } } } as any)
  try {
    const page = await context.newPage()
    await openDemo(page, env.demoUrl())
    await page.setInputFiles('#file-input', { name: 'swarm.torrent', mimeType: 'application/x-bittorrent', buffer: Buffer.from(torrent.torrentBytes) })
    await page.waitForSelector(`tr[data-infohash="${torrent.infoHash}"]`)
    await announced(torrent.infoHash)
    const started = Date.now()
    const wt = client.add(magnet, { path: dir })
    await once(wt, 'done')
    const got = await readFile(path.join(dir, torrent.name))
    assert.deepEqual(new Uint8Array(got), torrent.content[0].data)
    const served = await page.evaluate(h => (window as any).demo.fish.torrentStats(h).metadataServed, torrent.infoHash)
    assert.equal(served, 1, 'the tab served the metadata')
    console.error(`# browser->node: done after ${Date.now() - started} ms`)
  } finally {
    await new Promise<void>(resolve => client.destroy(() => resolve()))
    await context.close()
  }
})
