// The two-message kill switch and its relatives, over real TCP against the service and the
// CLI process: an extended handshake that gives ut_metadata no usable id (0, none, a list,
// 256...) followed by one ut_metadata request used to make bittorrent-protocol's
// `extended()` throw out of the socket's data handler, and Node exited. Now that one
// connection closes with a reason and a counter, and the process keeps serving.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import bencode from 'bencode'
import { createTorrentFish, type TorrentFish, type PeerClosedEvent } from '../../src/node.ts'
import { makeTorrent, writeTorrentFiles } from '../fixtures/torrents.ts'
import { spawnCli } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { fetchMetadataWire } from '../../bench/wire-client.ts'
import { RawPeer, handshake, extended } from './raw-peer.ts'

interface Variant {
  name: string
  /** Extended handshakes the hostile peer sends, in order, before its request. */
  handshakes: Array<Record<string, unknown> | string>
  /** The request's dict (default a valid request for piece 0). */
  request?: Record<string, unknown> | string
  reason: string
}

const bad = (piece: unknown): Record<string, unknown> => ({ msg_type: 0, piece })

const VARIANTS: Variant[] = [
  { name: 'ut_metadata: 0 (BEP 10 disabled)', handshakes: [{ m: { ut_metadata: 0 } }], reason: 'no-ut-metadata' },
  { name: 'ut_metadata: 0, out-of-range request', handshakes: [{ m: { ut_metadata: 0 } }], request: bad(7), reason: 'no-ut-metadata' },
  { name: 'm: {}', handshakes: [{ m: {} }], reason: 'no-ut-metadata' },
  { name: 'm: []', handshakes: [{ m: [] }], reason: 'no-ut-metadata' },
  { name: 'm: a list of names', handshakes: [{ m: ['ut_metadata'] }], reason: 'no-ut-metadata' },
  { name: 'no m at all', handshakes: [{ v: 'hostile' }], reason: 'no-ut-metadata' },
  { name: 'no extended handshake at all', handshakes: [], reason: 'no-ut-metadata' },
  { name: 'a second extended handshake sets 0', handshakes: [{ m: { ut_metadata: 3 } }, { m: { ut_metadata: 0 } }], reason: 'no-ut-metadata' },
  { name: 'ut_metadata: 256 (ids are one byte)', handshakes: [{ m: { ut_metadata: 256 } }], reason: 'no-ut-metadata' },
  { name: 'ut_metadata: -1', handshakes: [{ m: { ut_metadata: -1 } }], reason: 'no-ut-metadata' },
  { name: 'ut_metadata: "3" (a string)', handshakes: [{ m: { ut_metadata: '3' } }], reason: 'no-ut-metadata' },
  // A dict whose `toString` is an integer makes the library's own handshake parser throw.
  { name: 'ut_metadata: { toString: 1 } (throws inside the parser)', handshakes: [{ m: { ut_metadata: { toString: 1 } } }], reason: 'internal-error' },
  { name: 'extended handshake that is not bencoded, then a request', handshakes: ['not bencode'], reason: 'no-ut-metadata' }
]

/** Sends the variant over a raw connection; resolves with what the peer sent on ext id 0 after its own handshake. */
async function attack (port: number, infoHash: string, v: Variant): Promise<{ raw: RawPeer, onZero: number }> {
  const raw = await RawPeer.connect(port)
  raw.send(handshake(infoHash))
  const ours = await raw.extendedHandshake()
  const ourId = ours.m.ut_metadata as number
  assert.ok(Number.isInteger(ourId) && ourId >= 1 && ourId <= 255, 'torrent-fish advertises a valid ut_metadata id')
  for (const h of v.handshakes) raw.send(extended(0, h))
  raw.send(extended(ourId, v.request ?? bad(0)))
  await raw.closed
  // Anything on id 0 after torrent-fish's own extended handshake would be data on the wrong slot.
  return { raw, onZero: raw.extendedOn(0).length - 1 }
}

async function service (t: { after: (fn: () => unknown) => void }): Promise<TorrentFish> {
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', utp: false, discovery: false })
  t.after(() => fish.close())
  return fish
}

test('library service: every variant closes that connection with a reason, the next leecher is served', async (t) => {
  const fish = await service(t)
  const torrent = await makeTorrent({ name: 'kill-switch', content: new Uint8Array(40_000).fill(7) })
  const record = await fish.addTorrent(torrent.torrentBytes)
  const closes: PeerClosedEvent[] = []
  fish.on('peer-close', e => closes.push(e))
  const closeOf = (port: number): Promise<PeerClosedEvent> => new Promise(resolve => {
    const check = (): void => {
      const e = closes.find(c => c.remotePort === port)
      if (e) resolve(e)
      else fish.once('peer-close', check)
    }
    check()
  })
  for (const v of VARIANTS) {
    const { raw, onZero } = await attack(fish.port, record.infoHash, v)
    const event = await closeOf(raw.localPort)
    assert.equal(event.reason, v.reason, `${v.name}: closed with ${event.reason}/${event.op} (${event.message})`)
    assert.equal(onZero, 0, `${v.name}: nothing sent on extension id 0 but the extended handshake`)
    const size = await fetchMetadataWire({ host: '127.0.0.1', port: fish.port, infoHash: record.infoHash, timeoutMs: 5000 })
    assert.equal(size, record.infoSize, `${v.name}: a correct leecher is served afterwards`)
  }
  const stats = fish.getStats()
  assert.equal(stats.closesByReason['no-ut-metadata'], VARIANTS.filter(v => v.reason === 'no-ut-metadata').length, 'each close is counted by reason')
  assert.equal(stats.closesByReason['internal-error'], 1)
})

test('CLI process: the kill switch variants leave it alive and serving', async (t) => {
  const dir = await tmpDir(t)
  const torrent = await makeTorrent({ name: 'kill-switch-cli', content: new Uint8Array(20_000).fill(3) })
  await writeTorrentFiles(dir, [torrent])
  const cli = await spawnCli(['-l', dir, '-c', '200', '--no-utp'], t)
  t.after(() => cli.stop())
  for (const v of VARIANTS) {
    await attack(cli.port, torrent.infoHash, v)
    assert.equal(cli.child.exitCode, null, `${v.name}: the process is still running`)
    const size = await fetchMetadataWire({ host: '127.0.0.1', port: cli.port, infoHash: torrent.infoHash, timeoutMs: 5000 })
    assert.equal(size, torrent.infoBytes.length, `${v.name}: still serving`)
  }
  assert.equal(cli.child.exitCode, null)
  assert.equal(cli.child.signalCode, null)
})

test('rejects echo the piece index asked; 1e18 and "0" close with a reason', async (t) => {
  const fish = await service(t)
  const torrent = await makeTorrent({ name: 'reject-index', content: new Uint8Array(10_000).fill(1) })
  const record = await fish.addTorrent(torrent.torrentBytes)
  const raw = await RawPeer.connect(fish.port)
  raw.send(handshake(record.infoHash), extended(0, { m: { ut_metadata: 7 } }))
  const ourId = (await raw.extendedHandshake()).m.ut_metadata as number
  raw.send(extended(ourId, bad(-1)), extended(ourId, bad(1)), extended(ourId, bad(2 ** 31)))
  await raw.frameWhere(() => raw.extendedOn(7).length === 3, 'three rejects')
  assert.deepEqual(raw.extendedOn(7), [{ msg_type: 2, piece: -1 }, { msg_type: 2, piece: 1 }, { msg_type: 2, piece: 2 ** 31 }])
  raw.destroy()

  for (const [label, payload] of [['1e18', 'd8:msg_typei0e5:piecei1000000000000000000ee'], ['"0"', bencode.encode(bad('0'))]] as const) {
    const p = await RawPeer.connect(fish.port)
    p.send(handshake(record.infoHash), extended(0, { m: { ut_metadata: 7 } }))
    const id = (await p.extendedHandshake()).m.ut_metadata as number
    const closed = new Promise<PeerClosedEvent>(resolve => fish.once('peer-close', resolve))
    p.send(extended(id, payload))
    const event = await closed
    assert.equal(event.reason, 'bad-extension-message', `${label}: ${event.reason} ${event.message}`)
    assert.match(event.message ?? '', /not an integer/)
    assert.equal(p.extendedOn(7).length, 0, `${label}: nothing sent for it`)
    p.destroy()
  }
})

test('an extension id of 256 is "not supported": nothing is ever sent on id 0', async (t) => {
  const fish = await service(t)
  const torrent = await makeTorrent({ name: 'ext-256', content: new Uint8Array(10_000).fill(2) })
  const record = await fish.addTorrent(torrent.torrentBytes)
  const { raw, onZero } = await attack(fish.port, record.infoHash, { name: '256', handshakes: [{ m: { ut_metadata: 256 } }], reason: 'no-ut-metadata' })
  assert.equal(onZero, 0)
  assert.equal(raw.frames.filter(f => f.id === 20).length, 1, 'only our extended handshake was sent')
})
