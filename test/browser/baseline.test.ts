/**
 * The browser baseline: a browser without `Uint8Array.prototype.toHex` / `Uint8Array.fromHex`
 * (and the base64 pair), which uint8-util's browser build calls. Real Chromium with those
 * deleted before any script runs: the bundle installs its fallbacks, `addTorrent` works and
 * gives the right info hash, and a WebTorrent leecher in another tab gets the metadata from it
 * over WebRTC. Where the methods are native, the bundle leaves them alone.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Browser } from 'playwright-core'
import { singleFileTorrent, magnetFor } from '../fixtures/torrents.ts'
import { leechInPage, openLeecher, type BrowserEnv, useBrowser } from './harness.ts'

let env: BrowserEnv
let browser: Browser

useBrowser((e, b) => { env = e; browser = b })

const REMOVE_NATIVE = `(() => {
  window.__hadNative = typeof Uint8Array.prototype.toHex === 'function'
  delete Uint8Array.prototype.toHex
  delete Uint8Array.fromHex
  delete Uint8Array.prototype.toBase64
  delete Uint8Array.fromBase64
  window.__removed = typeof Uint8Array.prototype.toHex === 'undefined' && typeof Uint8Array.fromHex === 'undefined'
})()`

test('without native toHex/fromHex: the bundle installs fallbacks, addTorrent works, a leecher is served over WebRTC', async () => {
  const name = 'baseline.bin'
  const torrent = await singleFileTorrent({ name, size: 40_000, urlList: [env.seed.url + encodeURIComponent(name)] })
  await env.seed.add(torrent)
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', err => errors.push(err.message))
    await page.addInitScript(REMOVE_NATIVE)
    await page.goto(`${env.web.url}test/leecher.html`) // any page of the local server: a secure origin (127.0.0.1) for crypto.subtle
    assert.equal(await page.evaluate(() => (window as any).__removed), true, 'the methods are gone before any script runs')
    await page.addScriptTag({ url: `${env.web.url}dist/browser/torrent-fish.min.js` })

    const result = await page.evaluate(async ([bytes, tracker]) => {
      const TF = (window as any).TorrentFish
      const fish = TF.createBrowserPeer({ trackers: [tracker], rtcConfig: { iceServers: [] } })
      ;(window as any).fish = fish
      const record = await fish.addTorrent(new Uint8Array(bytes), { source: 'baseline.torrent' })
      const sample = new Uint8Array([0, 1, 127, 128, 255])
      let badHex = ''
      try { (Uint8Array as any).fromHex('abc') } catch (err) { badHex = (err as Error).name }
      return {
        infoHash: record.infoHash,
        magnet: TF.composeMagnet(record),
        hex: (sample as any).toHex(),
        roundTrip: Array.from((Uint8Array as any).fromHex('0001ff80') as Uint8Array),
        base64: (sample as any).toBase64(),
        fromBase64: Array.from((Uint8Array as any).fromBase64('AAF/gP8=') as Uint8Array),
        badHex,
        enumerable: Object.keys(Uint8Array.prototype).includes('toHex')
      }
    }, [Array.from(torrent.torrentBytes), env.tracker.wsUrl] as const)
    assert.deepEqual(errors, [])
    assert.equal(result.infoHash, torrent.infoHash)
    assert.ok(result.magnet.includes(`xt=urn:btih:${torrent.infoHash}`), result.magnet)
    assert.equal(result.hex, '00017f80ff')
    assert.deepEqual(result.roundTrip, [0, 1, 255, 128])
    assert.equal(result.base64, Buffer.from([0, 1, 127, 128, 255]).toString('base64'))
    assert.deepEqual(result.fromBase64, [0, 1, 127, 128, 255])
    assert.equal(result.badHex, 'SyntaxError')
    assert.equal(result.enumerable, false)

    // A leecher that has only the magnet gets the metadata from that tab (and the content from the web seed).
    const leecher = await context.newPage()
    await openLeecher(leecher, env)
    const leeched = await leechInPage(leecher, magnetFor(torrent, { trackers: [env.tracker.wsUrl], webSeeds: [env.seed.url + encodeURIComponent(name)] }))
    assert.equal(leeched.name, name)
    assert.deepEqual(Buffer.from(leeched.data, 'base64'), Buffer.from(torrent.content[0].data))
    assert.ok(leeched.wires.includes('webrtc'), `metadata over WebRTC from the tab: ${leeched.wires.join(', ')}`)
    const stats = await page.evaluate(() => (window as any).fish.getStats())
    assert.ok(stats.metadataServed >= 1, `the polyfilled tab served the metadata: ${JSON.stringify(stats)}`)
  } finally {
    await context.close()
  }
})

test('where toHex/fromHex are native the bundle keeps them', async () => {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    await page.goto(`${env.web.url}test/leecher.html`)
    const before = await page.evaluate(() => typeof (Uint8Array.prototype as any).toHex === 'function')
    await page.addScriptTag({ url: `${env.web.url}dist/browser/torrent-fish.min.js` })
    const after = await page.evaluate(() => ({
      toHex: Function.prototype.toString.call((Uint8Array.prototype as any).toHex),
      fromHex: Function.prototype.toString.call((Uint8Array as any).fromHex)
    }))
    if (before) {
      assert.match(after.toHex, /\[native code\]/)
      assert.match(after.fromHex, /\[native code\]/)
    } else {
      // This Chromium predates them: the first test's situation, natively.
      assert.doesNotMatch(after.toHex, /\[native code\]/)
    }
  } finally {
    await context.close()
  }
})
