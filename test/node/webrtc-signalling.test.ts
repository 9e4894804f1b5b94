/**
 * WebTorrent-tracker signalling in Node against a real bittorrent-tracker server and real
 * WebRTC (@roamhq/wrtc), through the browser peer's composition (session + paced announces to
 * WebSocket tracker targets + answer pool): one socket for many torrents and no idle RTCPeerConnections,
 * bounded negotiations with timeouts and reasons, reconnect + re-announce after the tracker
 * restarts, and the opt-in offer path.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { Server } from 'bittorrent-tracker'
import { hex2bin, arr2hex, randomBytes } from 'uint8-util'
import { BrowserPeer, type BrowserPeerOptions } from '../../src/browser.ts'
import type { NegotiationClosedEvent } from '../../src/transport/webrtc-answer-pool.ts'
import { RtcNegotiation, type RtcImplementation } from '../../src/transport/webrtc-negotiation.ts'
import { loadNodeWebRtc } from '../../src/node/webrtc-hybrid.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'
import { startTracker } from '../fixtures/tracker.ts'

const loaded = await loadNodeWebRtc()
if (loaded instanceof Error) throw loaded
const wrtc: RtcImplementation = loaded
const ICE = { iceServers: [] }

/** wrtc with a count of RTCPeerConnections created and not yet closed. */
function countingRtc (): RtcImplementation & { created: number, open: number } {
  const counter = { created: 0, open: 0 }
  class Counted extends (wrtc.RTCPeerConnection as any) {
    constructor (config: unknown) {
      super(config)
      counter.created += 1
      counter.open += 1
    }

    close (): void {
      if (this.signalingState !== 'closed') counter.open -= 1
      super.close()
    }
  }
  return Object.assign(counter, { RTCPeerConnection: Counted as any })
}

/** The tracker's open WebSockets (bittorrent-tracker keeps no list; ws v8 does not close them on close()). */
function trackSockets (server: any): Set<any> {
  const sockets = new Set<any>()
  server.ws.on('connection', (socket: any) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  return sockets
}

/** A browser peer (the same composition a tab runs) with Node's WebRTC, not started yet. */
function peerWith (options: BrowserPeerOptions): BrowserPeer {
  return new BrowserPeer({ rtcConfig: ICE, ...options })
}

function swarmSize (tracker: { server: any }): number {
  return Object.keys(tracker.server.torrents).length
}

test('1,000 torrents share one WebSocket, are all announced, and hold no RTCPeerConnection', async t => {
  const tracker = await startTracker()
  const rtc = countingRtc()
  // A budget high enough that the test measures the socket, not the pacing (tested in test/unit/announce-scheduler.test.ts).
  const peer = peerWith({ rtc, trackers: [tracker.wsUrl], announceRate: 5000 })
  const sockets = trackSockets(tracker.server)
  t.after(async () => { await peer.close(); await tracker.close() })
  for (let i = 0; i < 1000; i++) await peer.addTorrent(makeTorrent({ name: `t${i}.bin`, pieces: 1 }).torrentBytes)
  const started = Date.now()
  peer.start()
  while (swarmSize(tracker) < 1000) await once(tracker.server, 'start')
  t.diagnostic(`1,000 torrents announced in ${Date.now() - started} ms`)
  assert.equal(sockets.size, 1, 'one WebSocket for every torrent')
  assert.equal(rtc.created, 0, 'answer-only: no RTCPeerConnection while nobody asks')
  assert.equal(peer.webrtc.stats().peerConnections, 0)
})

test('negotiations are bounded, time out with a reason, and release their RTCPeerConnection', async t => {
  const tracker = await startTracker()
  const rtc = countingRtc()
  const peer = peerWith({ rtc, trackers: [tracker.wsUrl], maxNegotiations: 1, negotiationTimeoutMs: 500 })
  const transport = peer.webrtc
  const closes: NegotiationClosedEvent[] = []
  transport.on('negotiation-close', e => closes.push(e))
  const offers: RtcNegotiation[] = []
  let ws: WebSocket | undefined
  t.after(async () => { for (const o of offers) o.close(); ws?.close(); await peer.close(); await tracker.close() })
  const record = await peer.addTorrent(makeTorrent().torrentBytes)
  peer.start()
  while (swarmSize(tracker) < 1) await once(tracker.server, 'start')

  // A leecher that offers twice and never completes: it does not apply our answers.
  ws = new WebSocket(tracker.wsUrl)
  await once(ws as any, 'open')
  const peerId = hex2bin(arr2hex(randomBytes(20)))
  for (let i = 0; i < 2; i++) {
    const n = new RtcNegotiation(wrtc, { config: ICE })
    offers.push(n)
    ws!.send(JSON.stringify({
      action: 'announce', info_hash: hex2bin(record.infoHash), peer_id: peerId, numwant: 1, left: 1, uploaded: 0, downloaded: 0,
      offers: [{ offer: await n.offer(), offer_id: hex2bin(arr2hex(randomBytes(20))) }]
    }))
  }
  while (closes.length < 2) await once(transport, 'negotiation-close')
  assert.deepEqual(closes.map(c => c.reason).sort(), ['negotiation-limit', 'negotiation-timeout'])
  for (const c of closes) assert.ok(c.op && c.message && c.infoHash === record.infoHash)
  assert.equal(rtc.created, 1, 'the refused offer never got an RTCPeerConnection')
  assert.equal(rtc.open, 0, 'the timed-out one was closed')
  assert.equal(peer.getStats().byTransport.webrtc.closes['negotiation-timeout'], 1, 'counted with the other closes')
})

test('after the tracker restarts, the transport reconnects and announces again', async t => {
  const port = await new Promise<number>(resolve => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)) })
  })
  const start = async (): Promise<any> => {
    const server = new Server({ http: true, udp: false, ws: true, stats: false })
    server.on('warning', () => {})
    await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
    return server
  }
  let server = await start()
  let sockets = trackSockets(server)
  const stop = (): Promise<void> => new Promise<void>(resolve => { for (const s of sockets) s.terminate(); server.close(() => resolve()) })
  const peer = peerWith({ rtc: wrtc, trackers: [`ws://127.0.0.1:${port}`], reconnectMinMs: 100, reconnectMaxMs: 400 })
  const transport = peer.webrtc
  t.after(async () => { await peer.close(); await stop() })
  const record = await peer.addTorrent(makeTorrent().torrentBytes)
  peer.start()
  while (!server.torrents[record.infoHash]) await once(server, 'start')

  const warned = once(peer, 'warning')
  await stop()
  const [warning] = await warned
  assert.equal(warning.code, 'WARN_TRACKER_DOWN')
  assert.notEqual(transport.trackers()[0].state, 'open')

  server = await start()
  sockets = trackSockets(server)
  while (!server.torrents[record.infoHash]) await once(server, 'start')
  assert.equal(transport.trackers()[0].state, 'open')
})

test('offersPerAnnounce: an offering peer connects to an answering one through the tracker', async t => {
  const tracker = await startTracker()
  const answering = peerWith({ rtc: wrtc, trackers: [tracker.wsUrl] })
  const offering = peerWith({ rtc: wrtc, trackers: [tracker.wsUrl], offersPerAnnounce: 1 })
  const a = answering
  const b = offering
  t.after(async () => { await answering.close(); await offering.close(); await tracker.close() })
  const bytes = makeTorrent().torrentBytes
  const record = await answering.addTorrent(bytes)
  await offering.addTorrent(bytes)
  a.start()
  while (!tracker.server.torrents[record.infoHash]) await once(tracker.server, 'start')
  const connected = Promise.all([once(answering, 'peer'), once(offering, 'peer')])
  b.start()
  const [[ours], [theirs]] = await connected
  assert.equal(ours.direction, 'incoming')
  assert.equal(theirs.direction, 'outgoing')
  assert.equal(theirs.transport, 'webrtc')
  assert.equal(b.webrtc.stats().offersSent >= 1 && b.webrtc.stats().answersReceived === 1, true)
})
