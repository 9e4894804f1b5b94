/**
 * Benchmark: a Node hybrid peer (WebRTC via @roamhq/wrtc) holding 10,000 torrents on one
 * WebSocket tracker: RSS (empty process, with the torrents, once all are announced) and how
 * many leecher offers it answers per second. The tracker and the offering leechers run in a
 * child process so their memory and CPU are not counted here.
 *
 *   node bench/browser-hybrid.ts [--torrents 10000] [--offers 300] [--concurrency 16]
 *
 * An "answered" offer went offer -> our answer -> data channel open -> handed to the session.
 * Re-runs itself in a network namespace (WebRTC needs non-loopback host candidates).
 */
import { execFileSync, fork } from 'node:child_process'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { MetadataPeer } from '../src/core/metadata-peer.ts'
import { loadNodeWebRtc as loadRtc } from '../src/node/webrtc-hybrid.ts'
import { BrowserPeer } from '../src/browser.ts'
import { makeTorrent } from '../test/fixtures/memory-torrents.ts'

const ICE = { iceServers: [] }
const rssMb = (): number => +(process.memoryUsage().rss / 1024 / 1024).toFixed(1)

if (process.argv[2] === '--child') {
  await child()
} else {
  if (!process.env.TF_IN_NETNS && process.getuid?.() === 0) {
    const inner = 'ip link set lo up; ip link add tfv0 type veth peer name tfv1; ip addr add 10.213.0.1/24 dev tfv0; ip addr add 10.213.0.2/24 dev tfv1; ip link set tfv0 up; ip link set tfv1 up; ip route add default via 10.213.0.2 dev tfv0; exec "$0" "$@"'
    execFileSync('unshare', ['-n', 'sh', '-c', inner, process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, TF_IN_NETNS: '1' } })
    process.exit(0)
  }
  await parent()
}

async function parent (): Promise<void> {
  const { values } = parseArgs({ options: { torrents: { type: 'string', default: '10000' }, offers: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '16' } } })
  const N = Number(values.torrents)
  const kid = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: 'inherit' })
  const [{ wsUrl }] = await once(kid, 'message') as [{ wsUrl: string }]

  const rssEmpty = rssMb()
  const rtc = await loadRtc()
  if (rtc instanceof Error) throw rtc
  // The Node hybrid's composition without TCP: session + paced ws announces + answer pool.
  // Announces are paced (default 50/s); this run raises the budget to time the socket, not the pacer.
  const peer = new BrowserPeer({ rtc, trackers: [wsUrl], rtcConfig: ICE, maxNegotiations: 64, announceRate: 2000 })
  const hashes: string[] = []
  const t0 = Date.now()
  for (let i = 0; i < N; i++) hashes.push((await peer.addTorrent(makeTorrent({ name: `hybrid-${i}.bin`, pieces: 8 }).torrentBytes)).infoHash)
  const loadMs = Date.now() - t0
  const rssLoaded = rssMb()
  const transport = peer.webrtc
  peer.start()
  const t1 = Date.now()
  while (transport.trackers()[0].messagesIn < N) await new Promise(resolve => setTimeout(resolve, 50))
  const announceMs = Date.now() - t1
  const rssAnnounced = rssMb()

  kid.send({ hashes, offers: Number(values.offers), concurrency: Number(values.concurrency) })
  const t2 = Date.now()
  const [result] = await once(kid, 'message') as [{ answered: number, failed: number, ms: number }]
  const stats = transport.stats()
  const report = {
    torrents: N,
    loadMs,
    announceAllMs: announceMs,
    rssEmptyMb: rssEmpty,
    rssWithTorrentsMb: rssLoaded,
    rssAnnouncedMb: rssAnnounced,
    rssPerTorrentKb: +((rssAnnounced - rssEmpty) * 1024 / N).toFixed(2),
    rssAfterOffersMb: rssMb(),
    offersSentByLeechers: Number(values.offers),
    offersReceived: stats.offersReceived,
    answersSent: stats.answersSent,
    channelsOpened: stats.connections,
    leecherSideFailures: result.failed,
    offersAnsweredPerSecond: +(stats.connections / ((Date.now() - t2) / 1000)).toFixed(1),
    failuresByReason: stats.failures,
    rtcPeerConnectionsOpenAfter: stats.peerConnections
  }
  console.log(JSON.stringify(report, null, 2))
  kid.send('exit')
  await peer.close()
}

/** The tracker plus leechers that offer for random torrents, accept the answer, open the channel and leave. */
async function child (): Promise<void> {
  const { Server } = await import('bittorrent-tracker')
  const { hex2bin, arr2hex, randomBytes } = await import('uint8-util')
  const { RtcNegotiation } = await import('../src/transport/webrtc-negotiation.ts')
  const { loadNodeWebRtc } = await import('../src/node/webrtc-hybrid.ts')
  const rtc = await loadNodeWebRtc()
  if (rtc instanceof Error) throw rtc
  const server = new Server({ http: true, udp: false, ws: true, stats: false })
  server.on('warning', () => {})
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  process.send!({ wsUrl: `ws://127.0.0.1:${server.http.address().port}` })
  const [job] = await once(process, 'message') as [{ hashes: string[], offers: number, concurrency: number }]

  const ws = new WebSocket(`ws://127.0.0.1:${server.http.address().port}`)
  await once(ws as any, 'open')
  const waiting = new Map<string, (answer: any) => void>()
  ws.addEventListener('message', ev => {
    const m = JSON.parse(String(ev.data))
    if (m.answer && waiting.has(m.offer_id)) waiting.get(m.offer_id)!(m.answer)
  })
  const peerId = hex2bin(arr2hex(randomBytes(20)))
  let answered = 0
  let failed = 0
  let next = 0
  const started = Date.now()
  async function one (): Promise<void> {
    const n = new RtcNegotiation(rtc as any, { config: ICE })
    try {
      const offerId = hex2bin(arr2hex(randomBytes(20)))
      const offer = await n.offer()
      const answer = new Promise<any>((resolve, reject) => {
        waiting.set(offerId, resolve)
        setTimeout(() => reject(new Error('no answer')), 20_000)
      })
      const hash = job.hashes[Math.floor(Math.random() * job.hashes.length)]
      ws.send(JSON.stringify({ action: 'announce', info_hash: hex2bin(hash), peer_id: peerId, numwant: 1, left: 1, uploaded: 0, downloaded: 0, offers: [{ offer, offer_id: offerId }] }))
      await n.accept(await answer)
      waiting.delete(offerId)
      await n.channel()
      answered++
    } catch {
      failed++
    } finally {
      n.close()
    }
  }
  await Promise.all(Array.from({ length: job.concurrency }, async () => {
    while (next < job.offers) { next++; await one() }
  }))
  process.send!({ answered, failed, ms: Date.now() - started })
  await once(process, 'message')
  ws.close()
  process.exit(0)
}
