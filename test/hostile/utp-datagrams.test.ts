// Datagrams on the uTP port that are not uTP (the DHT's share of the port) are processed
// within a budget per /24 and overall, checked before anything parses them: a garbage UDP
// flood from one network cannot make the DHT parse without bound, and others still get through.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { MetadataPeer } from '../../src/core/metadata-peer.ts'
import { listenUtp } from '../../src/transport/utp.ts'

function sender (address: string): Promise<dgram.Socket> {
  return new Promise(resolve => { const s = dgram.createSocket('udp4'); s.bind(0, address, () => resolve(s)) })
}

test('non-uTP datagrams: bounded per /24, other networks unaffected, drops counted', async (t) => {
  const peer = new MetadataPeer()
  const utp = await listenUtp(peer, { port: 0, host: '127.0.0.1', otherDatagrams: { perSecond: 10_000, perSubnetPerSecond: 20 } })
  t.after(async () => { await utp.close(); await peer.close() })
  const view = utp.udpSocket()
  const seen = new Map<string, number>()
  let marker!: () => void
  const markerSeen = new Promise<void>(resolve => { marker = resolve })
  view.on('message', (buf: Uint8Array, rinfo: { address: string }) => {
    if (Buffer.from(buf).toString() === 'd4:donei1ee') return marker()
    seen.set(rinfo.address, (seen.get(rinfo.address) ?? 0) + 1)
  })
  const flood = await sender('127.9.9.9')
  const other = await sender('127.10.0.1')
  const last = await sender('127.11.0.1')
  t.after(() => { flood.close(); other.close(); last.close() })
  const junk = Buffer.from('d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe')
  // Few enough to fit the socket's receive buffer: the kernel must not be the one dropping.
  for (let i = 0; i < 120; i++) flood.send(junk, utp.port, '127.0.0.1')
  for (let i = 0; i < 10; i++) other.send(junk, utp.port, '127.0.0.1')
  last.send(Buffer.from('d4:donei1ee'), utp.port, '127.0.0.1')
  await markerSeen
  const fromFlood = seen.get('127.9.9.9') ?? 0
  t.diagnostic(`flooding /24: ${fromFlood} of 120 processed, ${utp.droppedDatagrams} dropped; other /24: ${seen.get('127.10.0.1') ?? 0} of 10`)
  assert.ok(fromFlood >= 20 && fromFlood <= 30, `the flooding network got about its budget (${fromFlood})`)
  assert.equal(seen.get('127.10.0.1'), 10, 'another network is not affected')
  assert.equal(utp.droppedDatagrams, 120 - fromFlood)
})

test('a non-uTP datagram reaches the DHT view as its own buffer, never a view into the 128 KiB receive buffer', async (t) => {
  const peer = new MetadataPeer()
  const utp = await listenUtp(peer, { port: 0, host: '127.0.0.1' })
  t.after(async () => { await utp.close(); await peer.close() })
  const view = utp.udpSocket()
  const kept: Buffer[] = []
  let all!: () => void
  const done = new Promise<void>(resolve => { all = resolve })
  const sent = Array.from({ length: 50 }, (_, i) => Buffer.from(`d1:ad2:id20:${String(i).padStart(20, 'x')}e1:q4:ping1:t2:aa1:y1:qe`))
  view.on('message', (buf: Buffer) => {
    kept.push(buf)
    if (kept.length === sent.length) all()
  })
  const s = await sender('127.0.0.1')
  t.after(() => s.close())
  for (const b of sent) s.send(b, utp.port, '127.0.0.1')
  await done
  for (let i = 0; i < kept.length; i++) {
    assert.equal(kept[i].buffer.byteLength, kept[i].length, `datagram ${i}: a buffer of its own size, so keeping it (a routing-table node id) keeps nothing else`)
    assert.deepEqual(kept[i], sent[i], `datagram ${i} intact after the ones behind it were read`)
  }
})
