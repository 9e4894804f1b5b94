/**
 * The far side of bench/announce.ts, in its own process so its memory is not counted: an
 * embedded tracker (bittorrent-tracker server) and a small private DHT. Prints one JSON line
 * with the addresses, then every second the announces it has received.
 */
import DHT from 'bittorrent-dht'
import { startEmbeddedTracker } from '../src/discovery/embedded-tracker.ts'

const tracker = await startEmbeddedTracker({ port: 0, host: '127.0.0.1', stats: false })
let trackerAnnounces = 0
tracker.server.on('start', () => { trackerAnnounces++ })
tracker.server.on('update', () => { trackerAnnounces++ })

const nodes: any[] = []
let dhtAnnounces = 0
for (let i = 0; i < 3; i++) {
  // maxPeers: room for every torrent's peer record (the default keeps 10k).
  const node = new DHT({ bootstrap: false, host: '127.0.0.1', maxPeers: 1_000_000 })
  node.on('warning', () => {})
  node.on('announce_peer', () => { dhtAnnounces++ })
  await new Promise<void>(resolve => node.listen(0, '127.0.0.1', () => resolve()))
  nodes.push(node)
}
for (const a of nodes) for (const b of nodes) if (a !== b) a.addNode({ host: '127.0.0.1', port: b.address().port })

process.stdout.write(JSON.stringify({ udpUrl: tracker.udpUrl, httpUrl: tracker.httpUrl, dht: nodes.map(n => `127.0.0.1:${n.address().port}`) }) + '\n')
setInterval(() => {
  process.stdout.write(JSON.stringify({ t: Date.now(), trackerAnnounces, dhtAnnounces, rss: process.memoryUsage().rss }) + '\n')
}, 1000)
process.on('SIGTERM', () => process.exit(0))
