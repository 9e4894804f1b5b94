/**
 * `/metrics` and `/health` against a real leecher: a bittorrent-protocol Wire with the
 * ut_metadata package fetches an info dict over TCP, and the counters a scrape reports move
 * accordingly (pieces, full copies, rejects, closes by reason). `/health` reports the
 * listening transports and turns unready (503) once the peer listener is down.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import Wire from 'bittorrent-protocol'
import utMetadata from 'ut_metadata'
import bencode from 'bencode'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { createTorrentFish, type TorrentFish } from '../../src/node/torrent-fish.ts'
import type { PeerClosedEvent } from '../../src/core/metadata-peer.ts'
import { bigInfoTorrent, singleFileTorrent, type FixtureTorrent } from '../fixtures/torrents.ts'

interface Family { name: string, type: string, help: string, metrics: Array<{ value: string, labels?: Record<string, string> }> }

let fish: TorrentFish
let torrent: FixtureTorrent

before(async () => {
  torrent = await bigInfoTorrent({ name: 'metrics-big', urlList: ['http://127.0.0.1:9/'] })
  fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', http: { port: 0, host: '127.0.0.1' } })
  await fish.addTorrent(torrent.torrentBytes)
})

after(async () => { await fish.close() })

/**
 * Every sample line must be `name{labels} value`: a strict check on top of the parser's.
 * Values are Go floats, so NaN and Inf in any case (prom-client writes `Nan`).
 */
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.]+(e[+-]?\d+)?|(?i:nan)|[+-](?i:inf))( -?\d+)?$/

async function scrape (): Promise<Map<string, Family>> {
  const res = await fetch(`${fish.http!.url}/metrics`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue
    assert.match(line, SAMPLE, `not a Prometheus sample line: ${line}`)
  }
  const families = parsePrometheusTextFormat(text) as Family[]
  return new Map(families.map(f => [f.name, f]))
}

function value (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name)
  assert.ok(family, `metric ${name} is exported`)
  const sample = family.metrics.find(m => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  return sample ? Number(sample.value) : 0
}

interface Leecher { socket: net.Socket, wire: any, metadata: Promise<Uint8Array> }

/** A real leecher: TCP socket, Wire, ut_metadata extension, fetch(). */
async function leech (infoHash: string): Promise<Leecher> {
  const socket = net.connect(fish.port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const wire = new Wire()
  socket.pipe(wire as any).pipe(socket)
  wire.use(utMetadata())
  const metadata = new Promise<Uint8Array>((resolve, reject) => {
    wire.ut_metadata.on('metadata', (buf: Uint8Array) => resolve(new Uint8Array(buf)))
    wire.ut_metadata.on('warning', reject)
    wire.on('close', () => reject(new Error('closed before metadata arrived')))
  })
  wire.on('extended', (ext: string) => { if (ext === 'handshake') wire.ut_metadata.fetch() })
  wire.handshake(infoHash, Buffer.from('-TT0000-metricstest0'), { dht: false, fast: true })
  return { socket, wire, metadata }
}

test('/metrics parses as Prometheus text and exports the service counters', async () => {
  const m = await scrape()
  for (const name of [
    'torrent_fish_torrents', 'torrent_fish_peers', 'torrent_fish_connections_total', 'torrent_fish_metadata_pieces_served_total',
    'torrent_fish_metadata_served_total', 'torrent_fish_metadata_rejects_total', 'torrent_fish_peer_closes_total',
    'torrent_fish_announces_total', 'torrent_fish_web_seed_torrents', 'torrent_fish_listening', 'torrent_fish_http_requests_total',
    'torrent_fish_torrent_files_served_total', 'torrent_fish_process_resident_memory_bytes'
  ]) assert.ok(m.has(name), `${name} missing`)
  assert.equal(m.get('torrent_fish_metadata_served_total')!.type, 'COUNTER')
  assert.equal(m.get('torrent_fish_torrents')!.type, 'GAUGE')
  assert.equal(value(m, 'torrent_fish_torrents'), 1)
  assert.equal(value(m, 'torrent_fish_listening', { transport: 'tcp' }), 1)
})

test('counters move when a real ut_metadata leecher is served over TCP', async () => {
  const before = await scrape()
  const piecesBefore = value(before, 'torrent_fish_metadata_pieces_served_total')
  const servedBefore = value(before, 'torrent_fish_metadata_served_total', { transport: 'tcp' })
  const connsBefore = value(before, 'torrent_fish_connections_total', { transport: 'tcp' })

  const served = new Promise(resolve => fish.once('metadata-served', resolve))
  const l = await leech(torrent.infoHash)
  const info = await l.metadata
  await served
  // ut_metadata hands back the whole torrent it rebuilt; its info dict is ours, byte for byte.
  assert.ok(Buffer.from(bencode.encode(bencode.decode(info).info)).equals(Buffer.from(torrent.infoBytes)))

  const during = await scrape()
  const pieces = Math.ceil(torrent.infoBytes.length / 16384)
  assert.equal(value(during, 'torrent_fish_metadata_pieces_served_total') - piecesBefore, pieces)
  assert.equal(value(during, 'torrent_fish_metadata_served_total', { transport: 'tcp' }) - servedBefore, 1)
  assert.equal(value(during, 'torrent_fish_connections_total', { transport: 'tcp' }) - connsBefore, 1)
  assert.equal(value(during, 'torrent_fish_peers', { transport: 'tcp' }), 1)
  assert.ok(value(during, 'torrent_fish_metadata_bytes_served_total') >= torrent.infoBytes.length)

  // An out-of-range piece index is rejected and counted.
  const rejectsBefore = value(during, 'torrent_fish_metadata_rejects_total')
  const rejected = new Promise<void>(resolve => {
    l.wire.on('extended', (ext: string, buf: Uint8Array) => {
      if (ext === 'ut_metadata' && bencode.decode(buf).msg_type === 2) resolve()
    })
  })
  l.wire.extended('ut_metadata', bencode.encode({ msg_type: 0, piece: 999 }))
  await rejected
  assert.equal(value(await scrape(), 'torrent_fish_metadata_rejects_total') - rejectsBefore, 1)

  // The leecher hangs up: a close with a reason is counted and the peer gauge drops.
  const closesBefore = [...(before.get('torrent_fish_peer_closes_total')?.metrics ?? [])].reduce((n, s) => n + Number(s.value), 0)
  const closed = new Promise<PeerClosedEvent>(resolve => fish.once('peer-close', resolve))
  l.socket.destroy()
  const event = await closed
  const after = await scrape()
  const closesAfter = after.get('torrent_fish_peer_closes_total')!.metrics.reduce((n, s) => n + Number(s.value), 0)
  assert.equal(closesAfter - closesBefore, 1)
  assert.equal(value(after, 'torrent_fish_peer_closes_total', { transport: 'tcp', reason: event.reason }) >= 1, true)
  assert.equal(value(after, 'torrent_fish_peers', { transport: 'tcp' }), 0)
})

test('the .torrent endpoint counts what it served', async () => {
  const before = value(await scrape(), 'torrent_fish_torrent_files_served_total')
  const res = await fetch(`${fish.http!.url}/${torrent.infoHash}.torrent`)
  await res.arrayBuffer()
  const m = await scrape()
  assert.equal(value(m, 'torrent_fish_torrent_files_served_total') - before, 1)
  assert.ok(value(m, 'torrent_fish_http_requests_total', { route: 'torrent', code: '200' }) >= 1)
})

test('/health: ready with the listening transports; 503 once the peer listener is down', async () => {
  const t = await singleFileTorrent({ name: 'health.bin' })
  const local = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', http: { port: 0, host: '127.0.0.1' } })
  try {
    await local.addTorrent(t.torrentBytes)
    const res = await fetch(`${local.http!.url}/health`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8')
    const ok = await res.json() as any
    assert.equal(ok.ready, true)
    assert.equal(ok.torrents, 1)
    const tcp = ok.transports.find((x: any) => x.name === 'tcp')
    assert.equal(tcp.port, local.port)
    assert.equal(ok.http.port, local.http!.port)
    assert.equal(ok.trackers, null, 'no discovery running: trackers unknown, not failing')
    assert.equal(ok.webSeeds, null)

    // Take the TCP listener down under the service (as a crash of that socket would).
    const server = (local as unknown as { tcp: { listener: { server: net.Server } } }).tcp.listener.server
    await new Promise<void>(resolve => server.close(() => resolve()))
    const down = await fetch(`${local.http!.url}/health`)
    assert.equal(down.status, 503)
    const body = await down.json() as any
    assert.equal(body.ready, false)
    assert.match(body.reason, /tcp is no longer listening/)
    assert.ok(!body.transports.some((x: any) => x.name === 'tcp'))
    // The status page says so too.
    const page = await (await fetch(`${local.http!.url}/`)).text()
    assert.match(page, /Ready: <b class="bad">no/)
  } finally {
    await local.close()
  }
})

test('/health reports trackers when a discovery source is given', async () => {
  const local = await createTorrentFish({
    port: 0,
    listenInterface: '127.0.0.1',
    http: {
      port: 0,
      host: '127.0.0.1',
      processMetrics: false,
      discovery: {
        trackers: () => [{ url: 'udp://a.example:6969', ok: true, lastAnnounce: 1 }, { url: 'http://b.example/announce', ok: false, error: 'timed out' }],
        announces: () => ({ ok: 5, error: 2 })
      }
    }
  })
  try {
    const h = await (await fetch(`${local.http!.url}/health`)).json() as any
    assert.equal(h.trackers.reachable, 1)
    assert.equal(h.trackers.failing, 1)
    assert.equal(h.trackers.list[1].error, 'timed out')
    const m = await (await fetch(`${local.http!.url}/metrics`)).text()
    assert.match(m, /torrent_fish_announces_total\{result="ok"\} 5/)
    assert.match(m, /torrent_fish_trackers\{state="failing"\} 1/)
    assert.doesNotMatch(m, /process_resident_memory/)
  } finally {
    await local.close()
  }
})
