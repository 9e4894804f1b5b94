/**
 * Memory a DHT keeps alive through the datagrams it is handed on the uTP port: a consumer that
 * keeps each contact's node id (as a routing table does, with the DHT's own bencode decoder,
 * which returns views into its input) while other DHT traffic goes by. Prints the array-buffer
 * memory still held after a collection. Run it against two checkouts to compare:
 *
 *   node bench/dht-datagram-memory.ts [ROOT=.] [contacts=1000] [datagrams between contacts=60]
 *   node bench/dht-datagram-memory.ts /path/to/old-checkout 200 1400
 * Loopback only; the socket and its sender stop by themselves.
 */
import dgram from 'node:dgram'
import { collectGarbage as gc } from './collect-garbage.ts'
import path from 'node:path'
const root = path.resolve(process.argv[2] ?? '.')
const { MetadataPeer } = await import(root + '/src/core/metadata-peer.ts')
const { listenUtp } = await import(root + '/src/transport/utp.ts')
const bencode = (await import(root + '/node_modules/k-rpc-socket/node_modules/bencode/lib/index.js')).default
const peer = new MetadataPeer()
const utp = await listenUtp(peer, { port: 0, host: '127.0.0.1', otherDatagrams: { perSecond: 1e9, perSubnetPerSecond: 1e9 } })
const view = utp.udpSocket()
const contacts: Buffer[] = []
const CONTACTS = Number(process.argv[3] ?? 1000)
const BETWEEN = Number(process.argv[4] ?? 60)
const total = CONTACTS * (BETWEEN + 1)
let got = 0
const s = dgram.createSocket('udp4')
await new Promise<void>(resolve => s.bind(0, '127.0.0.1', () => resolve()))
let i = 0
const next = (): void => {
  if (i >= total) return
  const n = i++
  const contact = n % (BETWEEN + 1) === 0
  const msg = contact ? bencode.encode({ a: { id: Buffer.alloc(20, n & 0xff) }, q: 'ping', t: 'aa', y: 'q' }) : bencode.encode({ a: { id: Buffer.alloc(20, 1), target: Buffer.alloc(20, 2) }, q: 'find_node', t: 'bb', y: 'q' })
  s.send(msg, utp.port, '127.0.0.1')
}
gc()
const before = process.memoryUsage().arrayBuffers
await new Promise<void>(resolve => {
  view.on('message', (buf: Buffer) => {
    const m = bencode.decode(buf)
    if (m.q && m.q.toString() === 'ping') contacts.push(m.a.id) // what a routing table keeps
    if (++got === total) resolve(); else next()
  })
  next()
})
gc()
gc()
const after = process.memoryUsage().arrayBuffers
console.log(`${root}: ${contacts.length} contacts kept; array buffers ${((after - before) / 2 ** 20).toFixed(1)} MiB more than before`)
s.close()
await utp.close()
await peer.close()
process.exit(0)
