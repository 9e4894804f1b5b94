/**
 * The demo tab under bad input, in real Chromium:
 *  - its tracker is down: the page says so, retries with backoff, and connects once the
 *    tracker comes up;
 *  - a "leecher" relays malformed offers through the tracker: each is refused with a reason,
 *    no RTCPeerConnection is left behind, and the tab still serves a real leecher afterwards;
 *  - a peer opens a real data channel (Node WebRTC) and sends garbage: closed as not-bittorrent.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import type { Browser, Page } from 'playwright-core'
import { Server } from 'bittorrent-tracker'
import { hex2bin, arr2hex, randomBytes } from 'uint8-util'
import { singleFileTorrent, magnetFor } from '../fixtures/torrents.ts'
import { loadNodeWebRtc } from '../../src/node/webrtc-hybrid.ts'
import { RtcNegotiation } from '../../src/transport/webrtc-negotiation.ts'
import { DataChannelStream } from '../../src/transport/webrtc-stream.ts'
import { leechInPage, openDemo, openLeecher, screenshot, type BrowserEnv, useBrowser } from './harness.ts'

let env: BrowserEnv
let browser: Browser

useBrowser((e, b) => { env = e; browser = b })

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

/** A bare WebSocket tracker client that sends whatever a test wants. */
async function rawClient (url: string): Promise<{ ws: WebSocket, peerId: string, messages: any[], next: (pred: (m: any) => boolean) => Promise<any> }> {
  const ws = new WebSocket(url)
  await once(ws as any, 'open')
  const messages: any[] = []
  const waiters: Array<[(m: any) => boolean, (m: any) => void]> = []
  ws.addEventListener('message', ev => {
    const m = JSON.parse(String(ev.data))
    messages.push(m)
    for (const w of [...waiters]) if (w[0](m)) { waiters.splice(waiters.indexOf(w), 1); w[1](m) }
  })
  return {
    ws,
    peerId: hex2bin(arr2hex(randomBytes(20))),
    messages,
    next: pred => new Promise(resolve => {
      const found = messages.find(pred)
      if (found) return resolve(found)
      waiters.push([pred, resolve])
    })
  }
}

async function demoWithTorrent (page: Page): Promise<{ infoHash: string, magnet: string, content: Uint8Array }> {
  const name = `bad-${Math.random().toString(36).slice(2)}.bin`
  const torrent = await singleFileTorrent({ name, size: 50_000 })
  await env.seed.add(torrent)
  await openDemo(page, env.demoUrl())
  await page.setInputFiles('#file-input', { name: `${name}.torrent`, buffer: Buffer.from(torrent.torrentBytes) })
  await page.waitForSelector(`tr[data-infohash="${torrent.infoHash}"]`)
  while (!env.tracker.server.torrents[torrent.infoHash]) await once(env.tracker.server, 'start')
  return {
    infoHash: torrent.infoHash,
    magnet: magnetFor(torrent, { trackers: [env.tracker.wsUrl], webSeeds: [env.seed.url + encodeURIComponent(name)] }),
    content: torrent.content[0].data
  }
}

test('tracker down: the page says so, retries, and connects when the tracker comes up', async () => {
  const port = await freePort()
  const url = `ws://127.0.0.1:${port}`
  const context = await browser.newContext()
  let server: any
  try {
    const page = await context.newPage()
    await openDemo(page, env.demoUrl({ tracker: url, retryMs: '200' }))
    await page.waitForSelector('#tracker-status[data-state="down"]')
    const text = await page.locator('#tracker-status').innerText()
    assert.match(text, /unreachable/)
    assert.match(text, /retrying in \d+ s/)
    await page.waitForFunction(() => (window as any).demo.fish.webrtc.trackers()[0].failures >= 2) // it keeps trying
    await screenshot(page, 'bad-input-tracker-down')

    server = new Server({ http: true, udp: false, ws: true, stats: false })
    server.on('warning', () => {})
    await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
    await page.waitForSelector('#tracker-status[data-state="open"]', { timeout: 30_000 })
    assert.match(await page.locator('#tracker-status').innerText(), /connected to/)
    await screenshot(page, 'bad-input-tracker-back')
  } finally {
    await context.close()
    if (server) await new Promise<void>(resolve => server.close(() => resolve()))
  }
})

test('malformed offers are refused with reasons; the tab keeps serving', async () => {
  const context = await browser.newContext()
  const leecherContext = await browser.newContext()
  const raw = await rawClient(env.tracker.wsUrl)
  try {
    const page = await context.newPage()
    const { infoHash, magnet, content } = await demoWithTorrent(page)
    const announce = (offer: unknown): void => raw.ws.send(JSON.stringify({
      action: 'announce', info_hash: hex2bin(infoHash), peer_id: raw.peerId, numwant: 1, uploaded: 0, downloaded: 0, left: 1000,
      offers: [{ offer, offer_id: hex2bin(arr2hex(randomBytes(20))) }]
    }))
    announce('not an object')
    announce({ type: 'offer', sdp: 'v=0\r\nthis is not SDP\r\n' })
    announce({ type: 'answer', sdp: 'v=0\r\n' })
    await page.waitForFunction(() => {
      const f = (window as any).demo.fish.webrtc.stats().failures
      return (f['malformed-offer'] ?? 0) >= 2 && (f['bad-offer'] ?? 0) >= 1
    })
    const stats = await page.evaluate(() => (window as any).demo.fish.webrtc.stats())
    assert.equal(stats.peerConnections, 0, 'no RTCPeerConnection left behind')
    assert.equal(stats.negotiations, 0)
    const log = await page.locator('#log').innerText()
    assert.match(log, /malformed-offer during signal/)
    assert.match(log, /bad-offer during set-remote/)
    await screenshot(page, 'bad-input-malformed-offers')

    const leecher = await leecherContext.newPage()
    await openLeecher(leecher, env)
    const result = await leechInPage(leecher, magnet)
    assert.deepEqual(new Uint8Array(Buffer.from(result.data, 'base64')), content)
  } finally {
    raw.ws.close()
    await leecherContext.close()
    await context.close()
  }
})

test('garbage over a real data channel is closed as not-bittorrent', async () => {
  const rtc = await loadNodeWebRtc()
  if (rtc instanceof Error) throw rtc
  const context = await browser.newContext()
  const raw = await rawClient(env.tracker.wsUrl)
  const negotiation = new RtcNegotiation(rtc, { config: { iceServers: [] } })
  try {
    const page = await context.newPage()
    const { infoHash } = await demoWithTorrent(page)
    const offerId = hex2bin(arr2hex(randomBytes(20)))
    raw.ws.send(JSON.stringify({
      action: 'announce', info_hash: hex2bin(infoHash), peer_id: raw.peerId, numwant: 1, uploaded: 0, downloaded: 0, left: 1000,
      offers: [{ offer: await negotiation.offer(), offer_id: offerId }]
    }))
    const reply = await raw.next(m => m.answer && m.offer_id === offerId)
    await negotiation.accept(reply.answer)
    const stream = new DataChannelStream(await negotiation.channel(), () => negotiation.close())
    stream.on('error', () => {})
    const closed = once(stream, 'close')
    stream.write(new Uint8Array(256).fill(0xee)) // a handshake starts with 19 "BitTorrent protocol"
    await closed
    await page.waitForFunction(() => (window as any).demo.fish.getStats().closesByReason['not-bittorrent'] >= 1)
    assert.match(await page.locator('#log').innerText(), /webrtc .*not-bittorrent during handshake/)
    await page.waitForFunction(() => (window as any).demo.fish.webrtc.stats().peerConnections === 0)
  } finally {
    negotiation.close()
    raw.ws.close()
    await context.close()
  }
})
