/**
 * The floor of a first start: how fast can any program on this machine read the corpus's
 * .torrent files, before torrent-fish parses or hashes a byte of them? A first start must read
 * every file whole (the info hash is the SHA-1 of the info dict), so files per second here bound
 * the load time from below. Each way of reading gets its own slice of the corpus, read once:
 *
 *   sync:P   P child processes, each reading its share with open/fstat/read/close on its own
 *            thread, one file at a time (how the loader and its reader processes read)
 *   pool:K   one process, fs.promises.readFile with K in flight on a K-thread libuv pool
 *
 * With `--drop-caches` (root only; it empties the whole machine's page cache) every slice is
 * read cold, from the disk; without it, from wherever the files are now. Prints files/s, MB/s,
 * the readers' user and system CPU per file, the block device's reads and how many were in
 * flight on average (sampled every 20 ms): whether the disk or the CPU is the bound.
 *
 *   node bench/read-floor.ts [--torrents 1000000] [--files 30000] [--skip 0] [--ways sync:1,sync:2,sync:4,pool:4,pool:16] [--drop-caches]
 */
import { parseArgs } from 'node:util'
import { fork } from 'node:child_process'
import { openSync, readSync, fstatSync, closeSync, readFileSync, writeFileSync, readdirSync, statSync, realpathSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { ensureCorpus } from './corpus.ts'

interface Share { names: string[], dir: string, inFlight: number }
interface Done { bytes: number, userMs: number, systemMs: number }

/** A child: reads its share and reports bytes and the CPU the reading took. */
async function readShare ({ names, dir, inFlight }: Share): Promise<Done> {
  process.chdir(dir)
  const c0 = process.cpuUsage()
  let bytes = 0
  if (inFlight === 0) {
    let buf = Buffer.alloc(1 << 20)
    for (const name of names) {
      const fd = openSync(name, 'r')
      try {
        const size = fstatSync(fd).size
        if (size > buf.length) buf = Buffer.alloc(size)
        bytes += readSync(fd, buf, 0, size, 0)
      } finally { closeSync(fd) }
    }
  } else {
    let next = 0
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < names.length) {
        const file = await readFile(names[next++])
        bytes += file.length // after the await: `bytes += await ...` would add to a stale total
      }
    }))
  }
  const c = process.cpuUsage(c0)
  return { bytes, userMs: c.user / 1000, systemMs: c.system / 1000 }
}

if (process.env.READ_FLOOR_CHILD === '1') {
  process.once('message', (share: Share) => { void readShare(share).then(done => process.send!(done, () => process.exit(0))) })
} else {
  await main()
}

/** The whole disk a directory lives on (its device's /sys/block name), or null. */
function blockDevice (dir: string): string | null {
  const dev = statSync(dir).dev
  const major = dev >> 8
  const minor = dev & 0xff
  for (const name of readdirSync('/sys/block')) {
    const [ma, mi] = readFileSync(`/sys/block/${name}/dev`, 'utf8').trim().split(':').map(Number)
    if (ma === major && mi === minor) return name
    // A partition: its whole disk is the /sys/block entry that holds it.
    for (const part of readdirSync(`/sys/block/${name}`)) {
      if (!part.startsWith(name)) continue
      try {
        const [pa, pi] = readFileSync(`/sys/block/${name}/${part}/dev`, 'utf8').trim().split(':').map(Number)
        if (pa === major && pi === minor) return name
      } catch {}
    }
  }
  return null
}

/** Completed reads and sectors read of a block device, from /proc/diskstats. */
function diskReads (dev: string | null): { reads: number, sectors: number } {
  if (dev === null) return { reads: NaN, sectors: NaN }
  for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f[2] === dev) return { reads: Number(f[3]), sectors: Number(f[5]) }
  }
  return { reads: NaN, sectors: NaN }
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      torrents: { type: 'string', default: '1000000' },
      files: { type: 'string', default: '30000' },
      /** Files of the directory to pass over first: a rerun on files no earlier run read (a VM's host may cache those). */
      skip: { type: 'string', default: '0' },
      ways: { type: 'string', default: 'sync:1,sync:2,sync:4,pool:4,pool:16' },
      'drop-caches': { type: 'boolean', default: false }
    }
  })
  const corpus = ensureCorpus(Number(values.torrents), line => console.error(line))
  const dir = realpathSync(corpus.dir)
  const perWay = Number(values.files)
  const ways = values.ways.split(',').map(w => {
    const [kind, n] = w.split(':')
    if ((kind !== 'sync' && kind !== 'pool') || !(Number(n) >= 1)) throw new Error(`--ways: "${w}" is not sync:P or pool:K`)
    return { label: w, kind, n: Number(n) }
  })
  // Directory order (what a scan sees), and a slice per way so that no way reads another's files.
  const names = readdirSync(dir)
  const skip = Number(values.skip)
  if (names.length < skip + perWay * ways.length) throw new Error(`the corpus has ${names.length} files, fewer than ${perWay} for each of ${ways.length} ways`)
  const dev = blockDevice(dir)
  console.log(`${dir}: ${names.length} files on ${dev ?? 'an unknown device'}; ${perWay} per way, ${values['drop-caches'] ? 'cold (page cache dropped before each way)' : 'as they are (no cache dropped)'}`)
  console.log('| way | files/s | MB/s | user + system CPU per file | device reads per file, KiB each | reads in flight (mean) |')
  console.log('|---|---|---|---|---|---|')
  let best = 0
  for (const [i, way] of ways.entries()) {
    const slice = names.slice(skip + i * perWay, skip + (i + 1) * perWay)
    if (values['drop-caches']) {
      writeFileSync('/proc/sys/vm/drop_caches', '3')
      readdirSync(dir) // a scan lists the directory before it reads: keep that out of the figure
    }
    const procs = way.kind === 'sync' ? way.n : 1
    const shares = Array.from({ length: procs }, (_, k) => slice.filter((_, j) => j % procs === k))
    const children = shares.map(() => fork(import.meta.filename, [], {
      env: { ...process.env, READ_FLOOR_CHILD: '1', UV_THREADPOOL_SIZE: String(way.kind === 'pool' ? way.n : 4) }
    }))
    await Promise.all(children.map(c => new Promise(resolve => c.once('spawn', resolve))))
    const d0 = diskReads(dev)
    let samples = 0
    let inFlight = 0
    const sampler = dev === null
      ? null
      : setInterval(() => { samples++; inFlight += Number(readFileSync(`/sys/block/${dev}/inflight`, 'utf8').trim().split(/\s+/)[0]) }, 20)
    const t0 = performance.now()
    const done = await Promise.all(children.map((c, k) => new Promise<Done>((resolve, reject) => {
      c.once('message', m => resolve(m as Done))
      c.once('exit', code => { if (code !== 0) reject(new Error(`a reader exited with ${code}`)) })
      c.send({ names: shares[k], dir, inFlight: way.kind === 'pool' ? way.n : 0 } satisfies Share)
    })))
    const secs = (performance.now() - t0) / 1000
    if (sampler) clearInterval(sampler)
    const d1 = diskReads(dev)
    const bytes = done.reduce((a, d) => a + d.bytes, 0)
    const user = done.reduce((a, d) => a + d.userMs, 0) * 1000 / slice.length
    const system = done.reduce((a, d) => a + d.systemMs, 0) * 1000 / slice.length
    best = Math.max(best, slice.length / secs)
    const reads = d1.reads - d0.reads
    const kib = (d1.sectors - d0.sectors) * 512 / 1024 / Math.max(1, reads)
    console.log(`| ${way.label} | ${(slice.length / secs).toFixed(0)} | ${(bytes / 1e6 / secs).toFixed(0)} | ${user.toFixed(0)} + ${system.toFixed(0)} us | ${(reads / slice.length).toFixed(2)}, ${kib.toFixed(1)} | ${samples ? (inFlight / samples).toFixed(1) : 'n/a'} |`)
  }
  console.log(`At the best pace above, reading all ${names.length} files takes ${(names.length / best).toFixed(1)} s: no first start from these files can be faster.`)
}
