/**
 * The demo page as a user meets it, in real Chromium: pick a .torrent, the magnet appears;
 * a WebTorrent leecher given that very magnet is served and the counters move; a reload
 * restores the torrent from IndexedDB; a bad file shows an error. Screenshots go to
 * test-results/ as artifacts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Browser } from 'playwright-core'
import { decode as decodeMagnet } from 'magnet-uri'
import { singleFileTorrent } from '../fixtures/torrents.ts'
import { leechInPage, openDemo, openLeecher, screenshot, type BrowserEnv, useBrowser } from './harness.ts'

let env: BrowserEnv
let browser: Browser

useBrowser((e, b) => { env = e; browser = b })

test('demo: load, share the magnet, serve a leecher, survive a reload, reject a bad file', async () => {
  const name = `demo-${Math.random().toString(36).slice(2)}.bin`
  const torrent = await singleFileTorrent({ name, size: 150_000, urlList: [env.seed.url + encodeURIComponent(name)] })
  await env.seed.add(torrent)
  const context = await browser.newContext()
  const leecherContext = await browser.newContext()
  try {
    const page = await context.newPage()
    await openDemo(page, env.demoUrl())
    await page.waitForSelector('#tracker-status[data-state="open"]')

    // 1. Pick a file: a row with name, size, info hash and the magnet to share.
    await page.setInputFiles('#file-input', { name: `${name}.torrent`, mimeType: 'application/x-bittorrent', buffer: Buffer.from(torrent.torrentBytes) })
    const row = page.locator(`tr[data-infohash="${torrent.infoHash}"]`)
    await row.waitFor()
    assert.match(await row.locator('td.name').innerText(), new RegExp(name.replace('.', '\\.')))
    assert.equal(await row.locator('[data-testid=infohash]').innerText(), torrent.infoHash)
    const shared = await row.locator('[data-testid=magnet]').inputValue()
    const decoded = decodeMagnet(shared)
    assert.equal(decoded.infoHash, torrent.infoHash)
    assert.ok((decoded.announce ?? []).includes(env.tracker.wsUrl), 'tr= names the WebSocket tracker')
    assert.ok((decoded.urlList ?? []).includes(env.seed.url + encodeURIComponent(name)), 'ws= names the web seed')
    await screenshot(page, 'demo-1-loaded')

    // 2. A leecher with the shared magnet is served; the counters and the log move.
    const leecher = await leecherContext.newPage()
    await openLeecher(leecher, env)
    const result = await leechInPage(leecher, shared)
    assert.deepEqual(new Uint8Array(Buffer.from(result.data, 'base64')), torrent.content[0].data)
    await page.waitForFunction(h => document.querySelector(`tr[data-infohash="${h}"] [data-testid=served]`)?.textContent === '1', torrent.infoHash)
    await page.waitForFunction(() => document.querySelector('#log')!.textContent!.includes('served the metadata'))
    await page.waitForFunction(() => /webrtc: 1|0/.test(document.querySelector('[data-testid=peers]')!.textContent!))
    await screenshot(page, 'demo-2-served')

    // 3. A reload restores the torrent from IndexedDB, and it is announced again.
    await page.reload()
    await page.waitForFunction(() => (window as any).demo?.fish !== undefined)
    await row.waitFor()
    assert.equal(await row.locator('[data-testid=infohash]').innerText(), torrent.infoHash)
    assert.equal(await page.evaluate(() => (window as any).demo.fish.torrents().length), 1)
    await screenshot(page, 'demo-3-reloaded')

    // 4. A file that is not a torrent: a clear error naming it; nothing added.
    await page.setInputFiles('#file-input', { name: 'not-a-torrent.torrent', mimeType: 'application/x-bittorrent', buffer: Buffer.from('this is not bencode') })
    await page.waitForFunction(() => document.querySelector('[data-testid=errors]')!.textContent!.includes('not-a-torrent.torrent'))
    assert.match(await page.locator('[data-testid=errors]').innerText(), /not-a-torrent\.torrent: not a valid \.torrent file/)
    // The same torrent again: said plainly, not added twice.
    await page.setInputFiles('#file-input', { name: 'again.torrent', mimeType: 'application/x-bittorrent', buffer: Buffer.from(torrent.torrentBytes) })
    await page.waitForFunction(() => document.querySelector('[data-testid=errors]')!.textContent!.includes('again.torrent: already loaded'))
    assert.equal(await page.locator('tr[data-testid=torrent]').count(), 1)
    await screenshot(page, 'demo-4-errors')
  } finally {
    await leecherContext.close()
    await context.close()
  }
})
