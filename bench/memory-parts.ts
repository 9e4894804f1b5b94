/**
 * What each torrent costs, by part, in process: a corpus (default the 100k one of issue 12's mix)
 * loaded by the directory loader into a session, then announced by a scheduler to three targets
 * like the CLI's defaults (the torrent's tracker, the DHT, LSD; targets that never answer, so
 * nothing but the tables is measured). Prints the packed tables' bytes (exact) and the JS heap
 * and ArrayBuffer growth after a full GC for each step.
 *
 *   node --expose-gc bench/memory-parts.ts [torrents=100000]
 */
import { readFile } from 'node:fs/promises'
import { ensureCorpus } from './corpus.ts'
import { MetadataPeer } from '../src/core/metadata-peer.ts'
import { DirectoryLoader } from '../src/node/directory-loader.ts'
import { AnnounceScheduler } from '../src/announce/scheduler.ts'
import type { AnnounceTarget } from '../src/announce/target.ts'
import '../src/node.ts' // installs the synchronous digest, as the CLI does

const count = Number(process.argv[2] ?? 100_000)
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc')
const usage = (): { heap: number, buffers: number } => { gc(); gc(); const m = process.memoryUsage(); return { heap: m.heapUsed, buffers: m.arrayBuffers } }
const per = (bytes: number): string => (bytes / count).toFixed(0).padStart(5)

const corpus = ensureCorpus(count, line => console.error(line))
const peer = new MetadataPeer({ store: { reader: async r => new Uint8Array(await readFile(r.source!)) } })
const u0 = usage()
const loader = new DirectoryLoader(peer, corpus.dir)
const c0 = process.cpuUsage()
const t0 = performance.now()
const scan = await loader.scan()
const cpu = process.cpuUsage(c0)
const loadMs = performance.now() - t0
peer.store.trim()
const u1 = usage()

const never = (key: string): AnnounceTarget => ({ key, maxInFlight: 1, defaultIntervalMs: 1_800_000, sendsStopped: key !== 'dht' && key !== 'lsd', announce: () => new Promise(() => {}) })
const targets = [never('http://tracker.invalid:6969/announce'), never('dht'), never('lsd')]
const scheduler = new AnnounceScheduler({ rate: 0.001 })
for (const r of peer.store.records()) scheduler.add(r.infoHash, targets)
// (Older checkouts, measured for the before figures, have neither trim() nor the byte counters.)
;(scheduler as { trim?: () => void }).trim?.()
const u2 = usage()

console.log(`${scan.loaded} torrents loaded in ${(loadMs / 1000).toFixed(1)} s (${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU), ${scheduler.stats().jobs} announce jobs`)
console.log('part                              bytes/torrent')
console.log(`packed index (store.indexBytes)   ${per(peer.store.indexBytes)}`)
console.log(`loader path table (tableBytes)    ${per((loader as { tableBytes?: number }).tableBytes ?? NaN)}`)
console.log(`  session + loader, heap + buffers ${per(u1.heap - u0.heap + u1.buffers - u0.buffers)} (heap ${per(u1.heap - u0.heap)}, buffers ${per(u1.buffers - u0.buffers)})`)
console.log(`scheduler tables (packedBytes)    ${per((scheduler as { packedBytes?: number }).packedBytes ?? NaN)}  (3 targets)`)
console.log(`  scheduler, heap + buffers        ${per(u2.heap - u1.heap + u2.buffers - u1.buffers)} (heap ${per(u2.heap - u1.heap)}, buffers ${per(u2.buffers - u1.buffers)})`)
process.exit(0)
