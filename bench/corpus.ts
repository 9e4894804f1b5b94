/**
 * Benchmark corpora: N .torrent files with a realistic spread of info-dict sizes, written
 * straight with the `bencode` package and random piece hashes (no content is hashed, so
 * 100k files take seconds). Cached under bench/.cache/corpus-<version>-<n>/; a manifest
 * written last marks a corpus complete, so an interrupted run is regenerated.
 *
 * The mix, by count (issue 12's): 70% single-file info dicts of 0.2-0.4 KiB, 25% of 2-20 KiB
 * (a folder of files, hundreds of pieces), 5% of 50-500 KiB (big multi-file torrents with
 * thousands of pieces): 100k torrents hold ~1.2 GB of info dicts. Most real swarms are small
 * single files; a few season packs and archives carry most of the bytes. The lighter v1 mix
 * (90% / 9.8% / 0.2%, small ones up to 1 KiB) of the earlier figures is `--mix v1`.
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs'
import path from 'node:path'
import bencode from 'bencode'

/** Bump when the generator changes so stale caches are not reused. */
const CORPUS_VERSION = 'v2'

/** Which size mix a corpus follows: v2 (issue 12's, the default) or v1 (the earlier, lighter one). */
export type CorpusMix = 'v1' | 'v2'
const MIXES: Record<CorpusMix, { large: number, medium: number, small: [number, number] }> = {
  v1: { large: 0.002, medium: 0.1, small: [250, 1000] },
  v2: { large: 0.05, medium: 0.3, small: [205, 410] }
}
export const CACHE_DIR = path.join(import.meta.dirname, '.cache')

export type SizeClass = 'small' | 'medium' | 'large'

export interface CorpusEntry {
  /** Hex SHA-1 of the info dict. */
  h: string
  /** Info dict size in bytes (metadata_size). */
  s: number
  c: SizeClass
}

export interface Corpus {
  dir: string
  entries: CorpusEntry[]
  /** Sum of info-dict sizes. */
  infoBytes: number
  /** Sum of .torrent file sizes. */
  fileBytes: number
}

/** Seeded PRNG (mulberry32) so every corpus of a size has the same shape on every machine. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function pick (rand: () => number, lo: number, hi: number): number {
  return Math.floor(lo + rand() * (hi - lo))
}

function classFor (rand: () => number, mix: CorpusMix): SizeClass {
  const r = rand()
  const m = MIXES[mix]
  return r < m.large ? 'large' : r < m.medium ? 'medium' : 'small'
}

const WORDS = ['linux', 'debian', 'archive', 'dataset', 'lecture', 'podcast', 'album', 'season', 'backup', 'photos', 'video', 'docs', 'release', 'mirror', 'sample']

function name (rand: () => number, i: number): string {
  const n = pick(rand, 2, 6)
  const parts: string[] = []
  for (let k = 0; k < n; k++) parts.push(WORDS[pick(rand, 0, WORDS.length)])
  return `${parts.join('-')}-${i}`
}

/** Builds one info dict aimed at `target` bytes; the pieces string fills the remainder. */
function infoDict (rand: () => number, cls: SizeClass, i: number, target: number): Record<string, unknown> {
  const pieceLength = 2 ** pick(rand, 18, 23) // 256 KiB - 4 MiB
  const info: Record<string, unknown> = { name: name(rand, i), 'piece length': pieceLength }
  if (cls === 'small') {
    info.length = 0
  } else {
    const fileCount = cls === 'medium' ? pick(rand, 2, 20) : pick(rand, 50, 500)
    const files: Array<Record<string, unknown>> = []
    for (let f = 0; f < fileCount; f++) {
      files.push({ length: 0, path: [`disc-${f % 7}`, `${name(rand, f)}.bin`] })
    }
    info.files = files
  }
  info.pieces = new Uint8Array(0)
  // Overhead without pieces, then enough 20-byte hashes to reach the target.
  const overhead = bencode.byteLength(info)
  const pieceCount = Math.max(1, Math.round((target - overhead) / 20))
  info.pieces = randomBytes(pieceCount * 20)
  const total = pieceCount * pieceLength - pick(rand, 0, pieceLength)
  if (cls === 'small') {
    info.length = total
  } else {
    const files = info.files as Array<Record<string, unknown>>
    const each = Math.floor(total / files.length)
    for (const f of files) f.length = each
    files[files.length - 1].length = total - each * (files.length - 1)
  }
  return info
}

function targetSize (rand: () => number, cls: SizeClass, mix: CorpusMix): number {
  if (cls === 'small') return pick(rand, ...MIXES[mix].small)
  if (cls === 'medium') return pick(rand, 2048, 20 * 1024)
  return pick(rand, 50 * 1024, 500 * 1024)
}

const enc = (v: unknown): Uint8Array => bencode.encode(v)

/** A .torrent file around exact info bytes: keys in sorted order, as bencode requires. */
function torrentFile (infoBytes: Uint8Array, i: number): Buffer {
  return Buffer.concat([
    Buffer.from('d'),
    enc('announce'), enc(`http://tracker.invalid:6969/announce`),
    enc('creation date'), enc(1_700_000_000 + i),
    enc('info'), infoBytes,
    enc('url-list'), enc([`http://seed.invalid/files/${i}/`]),
    Buffer.from('e')
  ])
}

/** Returns the cached corpus of `count` torrents, generating it if needed. */
export function ensureCorpus (count: number, log: (line: string) => void = () => {}, mix: CorpusMix = 'v2'): Corpus {
  const dir = path.join(CACHE_DIR, mix === 'v2' ? `corpus-${CORPUS_VERSION}-${count}` : `corpus-v1-${count}`)
  const manifest = path.join(dir, 'manifest.json')
  const filesDir = path.join(dir, 'torrents')
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { entries: CorpusEntry[], infoBytes: number, fileBytes: number }
    return { dir: filesDir, ...m }
  }
  const started = performance.now()
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(filesDir, { recursive: true })
  const rand = prng(0x7f15 + count)
  const entries: CorpusEntry[] = []
  let infoBytes = 0
  let fileBytes = 0
  for (let i = 0; i < count; i++) {
    const cls = classFor(rand, mix)
    const info = enc(infoDict(rand, cls, i, targetSize(rand, cls, mix)))
    const h = createHash('sha1').update(info).digest('hex')
    const file = torrentFile(info, i)
    writeFileSync(path.join(filesDir, `${h}.torrent`), file)
    entries.push({ h, s: info.length, c: cls })
    infoBytes += info.length
    fileBytes += file.length
  }
  const tmp = `${manifest}.tmp`
  writeFileSync(tmp, JSON.stringify({ entries, infoBytes, fileBytes }))
  renameSync(tmp, manifest)
  log(`generated ${count} torrents (${(fileBytes / 2 ** 20).toFixed(1)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s -> ${filesDir}`)
  return { dir: filesDir, entries, infoBytes, fileBytes }
}

/** Counts of each size class, for the report. */
export function classCounts (entries: CorpusEntry[]): Record<SizeClass, number> {
  const out = { small: 0, medium: 0, large: 0 }
  for (const e of entries) out[e.c] += 1
  return out
}
