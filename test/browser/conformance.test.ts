/**
 * The transport conformance suite inside a real Chromium page, over the page's own WebRTC:
 * each case's connections are offer/answer negotiations and data channels made by
 * torrent-fish's browser code (see test/conformance/webrtc-transport.ts). One node:test per
 * case, so a failure names the case.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Browser, Page } from 'playwright-core'
import { casesFor } from '../conformance/suite.ts'
import { webrtcConformanceTransport } from '../conformance/webrtc-transport.ts'
import { launchChromium, startBrowserEnv, type BrowserEnv } from './harness.ts'

let env: BrowserEnv
let browser: Browser
let page: Page

before(async () => {
  env = await startBrowserEnv()
  browser = await launchChromium()
  page = await browser.newPage()
  page.on('pageerror', err => console.error('[conformance page error]', err.message))
  await page.goto(`${env.web.url}test/conformance.html`)
  await page.waitForFunction(() => (globalThis as any).conformance !== undefined)
})

after(async () => {
  await browser?.close()
  await env?.close()
})

// The case list comes from the same suite the page bundles; the page must agree on it.
const names = casesFor(webrtcConformanceTransport('webrtc-browser', { RTCPeerConnection: class {} as any })).map(c => c.name)

test('the page runs the same conformance cases', async () => {
  assert.deepEqual(await page.evaluate(() => (globalThis as any).conformance.names), names)
})

for (const name of names) {
  test(`webrtc (chromium): ${name}`, async () => {
    const result = await page.evaluate(n => (globalThis as any).conformance.run(n), name)
    assert.ok(result.ok, result.error)
  })
}
