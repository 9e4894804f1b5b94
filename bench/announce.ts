/**
 * Announcing many torrents: N torrents (default 100k) announced to one local tracker (UDP) and
 * a local private DHT under a rate budget. Prints the sustained announce rate measured at the
 * tracker and the DHT, the time until every torrent has been announced once, and RSS, with a
 * baseline in the same run: the same torrents loaded with discovery off.
 *
 *   node --expose-gc bench/announce.ts [torrents=100000] [rate=2000]
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { createHash } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import bencode from 'bencode'
import { createTorrentFish } from '../src/node/torrent-fish.ts'
import { parseTorrent, type ParsedTorrent } from '../src/core/torrent.ts'

const COUNT = Number(process.argv[2] ?? 100_000)
const RATE = Number(process.argv[3] ?? 2000)
const here = path.dirname(fileURLToPath(import.meta.url))
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`
function rss (): number { gc(); gc(); return process.memoryUsage().rss }
function heap (): number { gc(); gc(); return process.memoryUsage().heapUsed }

const peers = spawn(process.execPath, [path.join(here, 'announce-peers.ts')], { stdio: ['ignore', 'pipe', 'inherit'] })
const lines = createInterface({ input: peers.stdout! })
const samples: Array<{ t: number, trackerAnnounces: number, dhtAnnounces: number, rss: number }> = []
const ready = new Promise<{ udpUrl: string, dht: string[] }>(resolve => {
  lines.on('line', line => {
    const msg = JSON.parse(line)
    if (msg.udpUrl) resolve(msg)
    else samples.push(msg)
  })
})
const far = await ready

console.log(`making ${COUNT} torrents...`)
const parsed: ParsedTorrent[] = []
for (let i = 0; i < COUNT; i++) {
  const bytes = bencode.encode({ announce: far.udpUrl, info: { length: 1000 + i, name: `t${i}.bin`, 'piece length': 16384, pieces: createHash('sha1').update(String(i)).digest() } })
  parsed.push(await parseTorrent(bytes))
}
const rssEmpty = rss()
const heapEmpty = heap()

// Baseline: the same torrents, discovery off.
const base = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', discovery: false, utp: false })
for (const p of parsed) await base.addTorrent(p, { pin: true })
const rssBase = rss()
const heapBase = heap()
await base.close()

const fish = await createTorrentFish({
  port: 0,
  listenInterface: '127.0.0.1',
  utp: true,
  discovery: { announceRate: RATE, dht: true, dhtBootstrap: far.dht, outgoing: false, scheduler: { startJitterMs: 1000, stopTimeoutMs: 500 } }
})
fish.on('warning', w => console.log(`warning: ${w.code} ${w.message}`))
const rssFishEmpty = rss()
const started = Date.now()
for (const p of parsed) await fish.addTorrent(p, { pin: true })
const loadedMs = Date.now() - started
const jobs = fish.discovery!.status().scheduler.jobs
const rssLoaded = rss()
let peakRss = rssLoaded

await new Promise<void>(resolve => {
  const timer = setInterval(() => {
    const s = fish.discovery!.status().scheduler
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    if (process.stdout.isTTY) process.stdout.write(`\r${((Date.now() - started) / 1000).toFixed(0)} s: ${s.attemptedOnce}/${jobs} announced once, ${s.failures} failures, ${s.inFlight} in flight   `)
    if (s.attemptedOnce >= jobs) { clearInterval(timer); resolve() }
  }, 500)
})
const allOnceMs = Date.now() - started
const stats = fish.discovery!.status().scheduler
const rssAnnounced = rss()
const heapAnnounced = heap()
// The far side's counters for the busy period: sustained rate = announces / seconds.
await new Promise(resolve => setTimeout(resolve, 1100))
const last = samples[samples.length - 1]
const first = samples.find(s => s.t >= started) ?? samples[0]
const secs = (last.t - first.t) / 1000
const busy = samples.filter(s => s.t >= started && s.t <= started + allOnceMs + 1000)
let worst = 0
for (let i = 1; i < busy.length; i++) {
  worst = Math.max(worst, (busy[i].trackerAnnounces + busy[i].dhtAnnounces / 3) - (busy[i - 1].trackerAnnounces + busy[i - 1].dhtAnnounces / 3))
}
const t0 = Date.now()
await fish.close()
const closeMs = Date.now() - t0
peers.kill('SIGTERM')

console.log('\n')
console.log(`torrents                    ${COUNT} (x2 targets: one UDP tracker + DHT = ${jobs} announce jobs)`)
console.log(`budget                      ${RATE} announces/s`)
console.log(`load time                   ${(loadedMs / 1000).toFixed(1)} s`)
console.log(`every torrent announced     ${(allOnceMs / 1000).toFixed(1)} s (${stats.announcedOnce} ok, ${stats.failures} failed); ideal at budget ${(jobs / RATE).toFixed(1)} s`)
console.log(`sustained                   ${(stats.announces / (allOnceMs / 1000)).toFixed(0)} announces/s (scheduler); tracker saw ${last.trackerAnnounces} in ${secs.toFixed(0)} s, DHT nodes saw ${last.dhtAnnounces} announce_peer (3 per torrent)`)
console.log(`worst second at the far side ${worst.toFixed(0)} announces (tracker + DHT torrents)`)
console.log(`RSS: parsed torrents only    ${mib(rssEmpty)}`)
console.log(`RSS: baseline (discovery off, ${COUNT} loaded) ${mib(rssBase)}`)
console.log(`RSS: fish, discovery on, empty ${mib(rssFishEmpty)}; loaded ${mib(rssLoaded)}; after announcing ${mib(rssAnnounced)}; peak ${mib(peakRss)}`)
console.log(`JS heap: parsed ${mib(heapEmpty)}; baseline loaded ${mib(heapBase)}; discovery on, after announcing ${mib(heapAnnounced)}`)
console.log(`discovery cost per torrent  ~${((heapAnnounced - heapBase) / COUNT).toFixed(0)} bytes of JS heap, ~${((rssAnnounced - rssBase) / COUNT).toFixed(0)} bytes of RSS (discovery on after announcing vs off, both loaded)`)
console.log(`close (stopped announces)   ${closeMs} ms`)
