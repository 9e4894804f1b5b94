/**
 * Micro-benchmarks of the hot paths, in-process (no sockets), to see a change's effect
 * without the noise of the exchange benchmark: the packed index (add, lookup by info hash and
 * by MSE obfuscated hash, record views), and a whole metadata exchange through PeerConnection
 * and the Wire over a direct in-memory stream (Wire construction, handshake routing, extended
 * handshake, serving, close), against the same exchange answered by hand-written code.
 *
 *   node bench/micro/hot-paths.ts [--n 100000] [--exchanges 20000] [--rounds 9] [--base DIR] [--alloc]
 * Index figures are wall time per operation, median of 5 runs (min-max). The exchange is CPU
 * time per exchange, median of the rounds; with `--base DIR` (another checkout, e.g. of the
 * commit before a change) the same exchange also runs through that checkout's core, rounds
 * alternating, and the ratio of each round pair is printed: the before/after to trust on a
 * busy machine. `--alloc`: bytes allocated per exchange (V8's sampling heap profiler, objects
 * collected since included), in all and by the functions allocating most, for each checkout.
 */
import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { Session } from 'node:inspector/promises'
import { EventEmitter } from 'node:events'
import path from 'node:path'
import bencode from 'bencode'
import { PackedIndex } from '../../src/core/index-packed.ts'
import { MetadataPeer } from '../../src/core/metadata-peer.ts'
import { parseTorrent } from '../../src/core/torrent.ts'
import { setMessageAllocator } from '../../src/core/wire-messages.ts'

const { values } = parseArgs({ options: { n: { type: 'string', default: '100000' }, exchanges: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '9' }, base: { type: 'string' }, alloc: { type: 'boolean', default: false } } })
const N = Number(values.n)
const EXCHANGES = Number(values.exchanges)
const ROUNDS = Number(values.rounds)

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
const reserved = new Uint8Array(8)
reserved[5] |= 0x10
reserved[7] |= 0x04
const pstr = Buffer.from('\x13BitTorrent protocol', 'latin1')
const extHs = bencode.encode({ m: { ut_metadata: 3 } }) as Uint8Array
const msg = (ext: number, payload: Uint8Array): Buffer => { const b = Buffer.alloc(6 + payload.length); b.writeUInt32BE(2 + payload.length); b[4] = 20; b[5] = ext; b.set(payload, 6); return b }

/** A session holding the bench torrent, from this checkout's core or another's (`--base`). */
async function exchanger (core: { MetadataPeer: typeof MetadataPeer, parseTorrent: typeof parseTorrent }): Promise<{ label: string, run: (n: number) => Promise<void>, served: () => number, close: () => Promise<void> }> {
  const parsed = await core.parseTorrent(torrentBytes, 'bench.torrent')
  const peer = new core.MetadataPeer({ connectionLimit: 1e9, perIpLimit: 1e9 })
  await peer.addTorrent(parsed, { pin: true })
  const hello = Buffer.concat([pstr, reserved, Buffer.from(parsed.infoHash, 'hex'), Buffer.alloc(20, 7), msg(0, extHs)])
  const pieces = Math.ceil(parsed.infoSize / 16384)
  const request = Buffer.concat(Array.from({ length: pieces }, (_, i) => msg(1, bencode.encode({ msg_type: 0, piece: i }) as Uint8Array)))
  let served = 0
  peer.on('metadata-served', () => { served += 1 })
  return {
    label: `exchange through the core (${parsed.infoSize} B, ${pieces} pieces)`,
    served: () => served,
    close: () => peer.close(),
    run: async n => {
      for (let i = 0; i < n; i++) {
        const s = new MemStream()
        const conn = peer.handleConnection(s, { transport: 'memory', direction: 'incoming', remoteAddress: '127.0.0.1' })
        s.emit('data', hello)
        s.emit('data', request)
        await Promise.resolve() // the wire flushes on a microtask
        conn.close('done', 'bench')
      }
    }
  }
}

/** CPU microseconds per exchange (this thread's user + system, so a busy machine's waits do not count). */
async function cpuPerExchange (x: Awaited<ReturnType<typeof exchanger>>): Promise<number> {
  const c0 = process.cpuUsage()
  await x.run(EXCHANGES)
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / EXCHANGES
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
// Message bytes as the Node entry (src/transport/tcp.ts) allocates them.
setMessageAllocator(size => Buffer.allocUnsafe(size))
const mine = await exchanger({ MetadataPeer, parseTorrent })
const base = values.base
  ? await exchanger({ ...(await import(path.resolve(values.base, 'src/core/metadata-peer.ts'))), ...(await import(path.resolve(values.base, 'src/core/torrent.ts'))) })
  : undefined
// Past the JIT's tiers before anything is measured.
for (let i = 0; i < 4; i++) { await mine.run(5000); await base?.run(5000) }
const ours: number[] = []
const theirs: number[] = []
const ratios: number[] = []
// Rounds alternate between the two checkouts, so drift in the machine's load hits both alike.
for (let r = 0; r < ROUNDS; r++) {
  ours.push(await cpuPerExchange(mine))
  if (base) { theirs.push(await cpuPerExchange(base)); ratios.push(ours[r] / theirs[r]) }
}
const show = (xs: number[]): string => `${median(xs).toFixed(3).padStart(8)} us CPU/op  (${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)})`
console.log(`${mine.label.padEnd(48)} ${show(ours)}`)
if (base) {
  console.log(`${'  the same through --base'.padEnd(48)} ${show(theirs)}`)
  console.log(`${'  this checkout / --base, per round'.padEnd(48)} ${median(ratios).toFixed(3).padStart(8)}  (${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)})`)
}
interface SampleNode { callFrame: { functionName: string, url: string, lineNumber: number }, selfSize: number, children: SampleNode[] }

/** Bytes allocated per exchange, and the allocating functions that account for most of them. */
async function allocPerExchange (x: Awaited<ReturnType<typeof exchanger>>, n = 20000): Promise<void> {
  const session = new Session()
  session.connect()
  await session.post('HeapProfiler.startSampling', { samplingInterval: 128, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  await x.run(n)
  const { profile } = await session.post('HeapProfiler.stopSampling') as { profile: { head: SampleNode } }
  session.disconnect()
  const bySite = new Map<string, number>()
  let total = 0
  const name = (f: SampleNode['callFrame']): string => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${f.lineNumber + 1}`
  const walk = (node: SampleNode, parent?: SampleNode): void => {
    if (node.selfSize > 0) {
      const f = node.callFrame
      // A builtin (no script) is named with its caller.
      const site = f.url === '' && parent ? `${name(f)} in ${name(parent.callFrame)}` : name(f)
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
      total += node.selfSize
    }
    for (const c of node.children) walk(c, node)
  }
  walk(profile.head)
  console.log(`${x.label}: ${(total / n).toFixed(0)} B allocated per exchange`)
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${(bytes / n).toFixed(0).padStart(6)} B  ${site}`)
}
if (values.alloc) {
  await allocPerExchange(mine)
  if (base) await allocPerExchange(base)
}

if (mine.served() < ROUNDS * EXCHANGES) throw new Error(`served ${mine.served()} of ${ROUNDS * EXCHANGES}`)
if (sink === 0.5) console.log(sink)
await mine.close()
await base?.close()
