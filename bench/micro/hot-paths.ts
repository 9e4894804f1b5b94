/**
 * Micro-benchmarks of the hot paths, in-process (no sockets), to see a change's effect
 * without the noise of the exchange benchmark: the packed index (add, lookup by info hash and
 * by MSE obfuscated hash, record views), and a whole metadata exchange through PeerConnection
 * and the Wire over a direct in-memory stream (Wire construction, handshake routing, extended
 * handshake, serving, close), against the same exchange answered by hand-written code.
 *
 *   node bench/micro/hot-paths.ts [--n 100000] [--exchanges 20000]
 * Figures are per operation, median of 5 runs (min-max); compare runs on the same machine.
 */
import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { EventEmitter } from 'node:events'
import bencode from 'bencode'
import { PackedIndex } from '../../src/core/index-packed.ts'
import { MetadataPeer } from '../../src/core/metadata-peer.ts'
import { parseTorrent } from '../../src/core/torrent.ts'

const { values } = parseArgs({ options: { n: { type: 'string', default: '100000' }, exchanges: { type: 'string', default: '20000' } } })
const N = Number(values.n)
const EXCHANGES = Number(values.exchanges)

function measure (label: string, ops: number, fn: () => void): void {
  const times: number[] = []
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now()
    fn()
    times.push(((performance.now() - t0) * 1000) / ops)
  }
  times.sort((a, b) => a - b)
  console.log(`${label.padEnd(48)} ${times[2].toFixed(3).padStart(8)} us/op  (${times[0].toFixed(3)}-${times[4].toFixed(3)})`)
}

// ---- packed index ----
const sha1 = (s: string): Uint8Array => new Uint8Array(createHash('sha1').update(s).digest())
const hashes = Array.from({ length: N }, (_, i) => sha1(`t${i}`))
const obf = Array.from({ length: N }, (_, i) => sha1(`o${i}`))
const hex = hashes.map(h => Buffer.from(h).toString('hex'))
const obfHex = obf.map(h => Buffer.from(h).toString('hex'))
let index = new PackedIndex()
measure(`index.put (${N} torrents)`, N, () => {
  index = new PackedIndex()
  for (let i = 0; i < N; i++) {
    index.put({ hash: hashes[i], obfuscated: obf[i], infoHashV1: hex[i], infoHashV2: undefined, name: `some-name-${i}`, length: 1e9, fileCount: 1, pieceLength: 262144, pieceCount: 4000, infoSize: 300, private: false, announce: [['http://tracker.example/announce']], urlList: [`http://seed.example/${i}/`], source: `/srv/torrents/${hex[i]}.torrent`, infoOffset: 60 })
  }
})
let sink = 0
measure('index.find (hex info hash)', N, () => { for (let i = 0; i < N; i++) sink += index.find(hex[i]) })
measure('index.findObfuscated (hex)', N, () => { for (let i = 0; i < N; i++) sink += index.findObfuscated(obfHex[i]) })
measure('index.find (miss)', N, () => { for (let i = 0; i < N; i++) sink += index.find(obfHex[i]) })
console.log(`index: ${(index.bytes / N).toFixed(0)} bytes per torrent before trim, `, (index.trim(), `${(index.bytes / N).toFixed(0)} after`))

// ---- a whole exchange through the core, over an in-memory direct stream ----
/** The least a transport hands the core: write(), data events, destroy(). */
class MemStream extends EventEmitter {
  received: Uint8Array[] = []
  destroyed = false
  write (chunk: Uint8Array): boolean { this.received.push(chunk); return true }
  destroy (): void { if (!this.destroyed) { this.destroyed = true; this.emit('close') } }
  pipe (): never { throw new Error('direct mode expected') }
}

const info = bencode.encode({ name: 'bench', 'piece length': 262144, length: 1e8, pieces: new Uint8Array(20 * 400) }) as Uint8Array
const torrentBytes = bencode.encode({ announce: 'http://tracker.invalid/announce', info: bencode.decode(info) }) as Uint8Array
const parsed = await parseTorrent(torrentBytes, 'bench.torrent')
const peer = new MetadataPeer({ connectionLimit: 1e9, perIpLimit: 1e9 })
await peer.addTorrent(parsed, { pin: true })
const reserved = new Uint8Array(8)
reserved[5] |= 0x10
reserved[7] |= 0x04
const pstr = Buffer.from('\x13BitTorrent protocol', 'latin1')
const extHs = bencode.encode({ m: { ut_metadata: 3 } }) as Uint8Array
const msg = (ext: number, payload: Uint8Array): Buffer => { const b = Buffer.alloc(6 + payload.length); b.writeUInt32BE(2 + payload.length); b[4] = 20; b[5] = ext; b.set(payload, 6); return b }
const hello = Buffer.concat([pstr, reserved, Buffer.from(parsed.infoHash, 'hex'), Buffer.alloc(20, 7), msg(0, extHs)])
const pieces = Math.ceil(parsed.infoSize / 16384)
const request = Buffer.concat(Array.from({ length: pieces }, (_, i) => msg(1, bencode.encode({ msg_type: 0, piece: i }) as Uint8Array)))
let served = 0
peer.on('metadata-served', () => { served += 1 })

async function exchanges (n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const s = new MemStream()
    const conn = peer.handleConnection(s, { transport: 'memory', direction: 'incoming', remoteAddress: '127.0.0.1' })
    s.emit('data', hello)
    s.emit('data', request)
    await Promise.resolve() // the wire flushes on a microtask
    conn.close('done', 'bench')
  }
}
const before = served
const times: number[] = []
for (let r = 0; r < 5; r++) {
  const t0 = performance.now()
  await exchanges(EXCHANGES)
  times.push(((performance.now() - t0) * 1000) / EXCHANGES)
}
times.sort((a, b) => a - b)
if (served - before !== 5 * EXCHANGES) throw new Error(`served ${served - before} of ${5 * EXCHANGES}`)
console.log(`${`exchange through the core (${parsed.infoSize} B, ${pieces} pieces)`.padEnd(48)} ${times[2].toFixed(3).padStart(8)} us/op  (${times[0].toFixed(3)}-${times[4].toFixed(3)})`)
if (sink === 0.5) console.log(sink)
await peer.close()
