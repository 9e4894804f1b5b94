/**
 * The .torrent parser (src/core/torrent.ts) and the bencode scanner (src/core/bencode-scan.ts)
 * under mutated and random input. Contract checked on every input:
 * - parseTorrent resolves with a correct result or rejects with InvalidTorrentError, nothing
 *   else; a result's info bytes are the exact span of the file, its info hash their SHA-1,
 *   and, where the bencode library can decode the file, its name, piece length, piece count
 *   and total length agree with that independent decoding;
 * - the scanner returns an in-bounds end or throws BencodeScanError, and accepts every
 *   canonical bencode value (one the library decodes and re-encodes to the same bytes);
 * - no call takes long (a hang shows as a slow call; the budget is generous for a noisy CI).
 */
import bencode from 'bencode'
import { createHash } from 'node:crypto'
import { parseTorrent } from '../../src/core/torrent.ts'
import { InvalidTorrentError } from '../../src/core/errors.ts'
import { BencodeScanError, dictEntries, skipValue } from '../../src/core/bencode-scan.ts'
import { Rng, caseSeed, concat, mutate } from './prng.ts'
import { installBencodeGuard } from '../../src/core/bencode-guard.ts'

export interface ParserFuzzOptions {
  seed: number
  runs?: number
  seconds?: number
  worker?: number
  workers?: number
  only?: number[]
}

export interface ParserFuzzReport {
  seed: number
  cases: number
  parsedOk: number
  rejected: number
  scannerCanonical: number
  slowestMs: number
  failures: Array<{ seed: number, index: number, problems: string[], inputHex: string }>
  kinds: Record<string, number>
  ms: number
}

/** Calls above this are reported as hangs: real inputs parse in microseconds to a few ms. */
const SLOW_MS = 2000
const b = (s: string): Buffer => Buffer.from(s)

function pieces (n: number, salt: number): Uint8Array {
  return new Uint8Array(20 * n).map((_, i) => (i * 31 + salt) & 0xff)
}

/** Valid torrents of every shape the parser knows: the seeds the mutations start from. */
function corpus (): Uint8Array[] {
  const out: Uint8Array[] = []
  out.push(bencode.encode({ announce: b('http://t.example/a'), info: { length: 100000, name: b('single.bin'), 'piece length': 16384, pieces: pieces(7, 1) } }))
  out.push(bencode.encode({
    'announce-list': [[b('http://a.example/')], [b('udp://b.example:80'), b('wss://c.example')]],
    'url-list': [b('http://seed.example/')],
    info: {
      files: [
        { length: 5, path: [b('a.txt')] },
        { attr: b('p'), length: 16379, path: [b('.pad'), b('16379')] },
        { attr: b('l'), 'symlink path': [b('a.txt')], path: [b('link')] },
        { attr: b('x'), length: 20000, path: [b('dir'), b('run.sh')] }
      ],
      name: b('multi'),
      'piece length': 16384,
      pieces: pieces(3, 2),
      private: 1
    }
  }))
  // v2 only and hybrid (BEP 52).
  const tree = { 'a.bin': { '': { length: 40000, 'pieces root': new Uint8Array(32) } }, sub: { 'b.bin': { '': { length: 10 } } } }
  out.push(bencode.encode({ info: { 'file tree': tree, 'meta version': 2, name: b('v2'), 'piece length': 16384 }, 'piece layers': {} }))
  out.push(bencode.encode({ info: { 'file tree': tree, files: [{ length: 40000, path: [b('a.bin')] }, { length: 10, path: [b('sub'), b('b.bin')] }], 'meta version': 2, name: b('hybrid'), 'piece length': 16384, pieces: pieces(4, 3) } }))
  // Unsorted keys and a url-list string: spans must be kept as found.
  out.push(concat(b('d4:infod4:name8:unsorted6:lengthi5e12:piece lengthi16384e6:pieces20:'), pieces(1, 4), b('e8:url-list20:http://seed.example/e')))
  // A bigger info dict (many pieces) and a name.utf-8.
  out.push(bencode.encode({ info: { length: 3000 * 16384, name: b('big'), 'name.utf-8': b('b\u00efg'), 'piece length': 16384, pieces: pieces(3000, 5) } }))
  return out
}

const CORPUS = corpus()

/** A random bencode value, to feed the scanner structure it may not have seen. */
function randomValue (rng: Rng, depth = 0): unknown {
  const r = rng.int(depth > 4 ? 2 : 4)
  if (r === 0) return rng.pick([0, -1, 1, 2 ** 53 - 1, rng.u32(), -rng.u32()])
  if (r === 1) return rng.bytes(rng.range(0, 40))
  if (r === 2) return Array.from({ length: rng.range(0, 5) }, () => randomValue(rng, depth + 1))
  const d: Record<string, unknown> = {}
  for (let i = rng.range(0, 5); i > 0; i--) d[rng.pick(['info', 'name', 'length', 'files', 'pieces', 'piece length', 'path', 'attr', 'x', ''])] = randomValue(rng, depth + 1)
  return d
}

function text (v: unknown): string | undefined {
  return v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : undefined
}

/** What an independent decoding (the bencode library) says the v1 totals are, when it can say. */
function oracle (bytes: Uint8Array): { name?: string, pieceLength?: number, pieceCount?: number, length?: number } | undefined {
  let top: any
  try { top = bencode.decode(bytes) } catch { return undefined }
  const info = top?.info
  if (!info || typeof info !== 'object' || !(info.pieces instanceof Uint8Array)) return undefined
  // With a repeated key the library keeps the last value and the parser (like libtorrent) the
  // first: the oracle only speaks for files without one.
  if (hasRepeatedKey(bytes)) return undefined
  let length: number | undefined
  if (Number.isSafeInteger(info.length)) length = info.length
  else if (Array.isArray(info.files)) {
    length = 0
    for (const f of info.files) {
      const symlink = f?.attr instanceof Uint8Array && f.attr.includes(0x6c)
      if (symlink) continue
      if (!Number.isSafeInteger(f?.length)) return undefined
      length += f.length
    }
  }
  return { name: text(info['name.utf-8']) ?? text(info.name), pieceLength: info['piece length'], pieceCount: info.pieces.length / 20, length }
}

/** The input of case `index` of run `seed`. */
export function parserInput (seed: number, index: number, seeds: Uint8Array[] = CORPUS): Uint8Array {
  const rng = new Rng(caseSeed(seed, index))
  const r = rng.int(100)
  if (r < 5) return rng.bytes(rng.range(1, 300))
  if (r < 15) return bencode.encode(rng.chance(0.5) ? { info: randomValue(rng) } : randomValue(rng) as never)
  let input = rng.pick(seeds)
  const donor = rng.pick(seeds)
  const n = rng.chance(0.1) ? 0 : rng.range(1, rng.chance(0.8) ? 3 : 16)
  for (let i = 0; i < n; i++) input = mutate(rng, input, donor)
  return input
}

/** Whether any dictionary in the (scannable) buffer repeats a key. */
function hasRepeatedKey (bytes: Uint8Array): boolean {
  const seen = (at: number, depth: number): boolean => {
    if (depth > 64) return false
    const c = bytes[at]
    if (c === 0x64) {
      const { entries } = dictEntries(bytes, at)
      const keys = new Set(entries.map(e => Buffer.from(bytes.subarray(e.keyStart, e.keyStart + e.keyLength)).toString('latin1')))
      if (keys.size !== entries.length) return true
      return entries.some(e => seen(e.valueStart, depth + 1))
    }
    if (c === 0x6c) {
      for (let i = at + 1; bytes[i] !== 0x65; i = skipValue(bytes, i)) if (seen(i, depth + 1)) return true
    }
    return false
  }
  try { return seen(0, 0) } catch { return false }
}

function timed<T> (fn: () => T): { value?: T, error?: unknown, ms: number } {
  const t0 = performance.now()
  try { return { value: fn(), ms: performance.now() - t0 } } catch (error) { return { error, ms: performance.now() - t0 } }
}

export async function runParserFuzz (options: ParserFuzzOptions, onProgress?: (r: ParserFuzzReport) => void): Promise<ParserFuzzReport> {
  const started = Date.now()
  // The oracle decodes with the bencode library, which loops forever on `-3:` unguarded.
  installBencodeGuard()
  const seeds = CORPUS
  const report: ParserFuzzReport = { seed: options.seed, cases: 0, parsedOk: 0, rejected: 0, scannerCanonical: 0, slowestMs: 0, failures: [], kinds: {}, ms: 0 }
  const deadline = options.seconds !== undefined ? started + options.seconds * 1000 : Infinity
  const workers = options.workers ?? 1
  let next = options.worker ?? 0
  let onlyAt = 0
  let lastProgress = Date.now()
  for (;;) {
    let index: number
    if (options.only) { if (onlyAt >= options.only.length) break; index = options.only[onlyAt++] } else {
      if (report.cases >= (options.runs ?? Infinity) || Date.now() >= deadline) break
      index = next
      next += workers
    }
    const input = parserInput(options.seed, index, seeds)
    const problems = await checkOne(input, report)
    report.cases += 1
    if (problems.length > 0) {
      for (const p of problems) { const k = p.replace(/\d+/g, 'N'); report.kinds[k] = (report.kinds[k] ?? 0) + 1 }
      if (report.failures.length < 50) report.failures.push({ seed: options.seed, index, problems, inputHex: Buffer.from(input.subarray(0, 4096)).toString('hex') })
    }
    if (onProgress && Date.now() - lastProgress > 5000) { lastProgress = Date.now(); onProgress({ ...report, ms: Date.now() - started }) }
  }
  report.ms = Date.now() - started
  return report
}

async function checkOne (input: Uint8Array, report: ParserFuzzReport): Promise<string[]> {
  const problems: string[] = []
  // The scanner alone.
  const scan = timed(() => skipValue(input, 0))
  report.slowestMs = Math.max(report.slowestMs, scan.ms)
  if (scan.ms > SLOW_MS) problems.push(`scanner took ${Math.round(scan.ms)} ms on ${input.length} bytes`)
  if (scan.error !== undefined) {
    if (!(scan.error instanceof BencodeScanError)) problems.push(`scanner threw ${(scan.error as Error)?.name}: ${(scan.error as Error)?.message}`)
  } else if (!(scan.value! > 0 && scan.value! <= input.length)) {
    problems.push(`scanner returned end ${scan.value} for ${input.length} bytes`)
  }
  if (input[0] === 0x64) {
    const d = timed(() => dictEntries(input, 0))
    if (d.error !== undefined && !(d.error instanceof BencodeScanError)) problems.push(`dictEntries threw ${(d.error as Error)?.name}: ${(d.error as Error)?.message}`)
    if (d.value && scan.value !== d.value.end) problems.push(`dictEntries ends at ${d.value.end}, skipValue at ${scan.value}`)
    if (d.value) {
      let at = 1
      for (const e of d.value.entries) {
        if (!(e.keyStart > at && e.valueStart === e.keyStart + e.keyLength && e.valueEnd > e.valueStart && e.valueEnd <= d.value.end - 1)) { problems.push('dictEntries spans are not contiguous'); break }
        at = e.valueEnd
      }
    }
  }
  // Canonical bencode must be accepted whole.
  let canonical = false
  if (input.length > 0) try {
    canonical = Buffer.from(bencode.encode(bencode.decode(input))).equals(Buffer.from(input))
  } catch {}
  if (canonical) {
    report.scannerCanonical += 1
    if (scan.value !== input.length) problems.push(`scanner refused canonical bencode (${scan.error ? (scan.error as Error).message : `end ${scan.value}`})`)
  }

  // The parser.
  const t0 = performance.now()
  let parsed: Awaited<ReturnType<typeof parseTorrent>> | undefined
  try {
    parsed = await parseTorrent(input, 'fuzz.torrent')
  } catch (err) {
    if (!(err instanceof InvalidTorrentError)) problems.push(`parseTorrent threw ${(err as Error)?.name}: ${(err as Error)?.message}`)
    else if (err.code !== 'ERR_INVALID_TORRENT' || !err.message.startsWith('fuzz.torrent')) problems.push(`InvalidTorrentError without code or source: ${err.message}`)
    report.rejected += 1
  }
  const ms = performance.now() - t0
  report.slowestMs = Math.max(report.slowestMs, ms)
  if (ms > SLOW_MS) problems.push(`parseTorrent took ${Math.round(ms)} ms on ${input.length} bytes`)
  if (parsed) {
    report.parsedOk += 1
    const span = input.subarray(parsed.infoOffset, parsed.infoOffset + parsed.infoSize)
    if (!Buffer.from(span).equals(Buffer.from(parsed.infoBytes))) problems.push('infoBytes are not the span at infoOffset')
    if (parsed.infoBytes[0] !== 0x64 || parsed.infoBytes[parsed.infoSize - 1] !== 0x65) problems.push('infoBytes are not a dictionary')
    if (skipValue(parsed.infoBytes, 0) !== parsed.infoSize) problems.push('infoBytes are not exactly one bencoded value')
    if (parsed.infoHashV1 !== undefined && parsed.infoHashV1 !== createHash('sha1').update(parsed.infoBytes).digest('hex')) problems.push('infoHashV1 is not the SHA-1 of infoBytes')
    if (!/^[0-9a-f]{40}$/.test(parsed.infoHash)) problems.push(`infoHash ${parsed.infoHash}`)
    if (!(parsed.length >= 0 && Number.isSafeInteger(parsed.length) && parsed.pieceLength > 0 && parsed.name.length > 0)) problems.push(`bad totals: length ${parsed.length}, piece length ${parsed.pieceLength}`)
    const o = oracle(input)
    if (o && parsed.infoHashV1 !== undefined && parsed.infoHashV2 === undefined) {
      if (o.name !== undefined && o.name !== parsed.name) problems.push(`name ${JSON.stringify(parsed.name)}, bencode library says ${JSON.stringify(o.name)}`)
      if (o.pieceLength !== parsed.pieceLength) problems.push(`piece length ${parsed.pieceLength}, bencode library says ${o.pieceLength}`)
      if (o.pieceCount !== parsed.pieceCount) problems.push(`piece count ${parsed.pieceCount}, bencode library says ${o.pieceCount}`)
      if (o.length !== undefined && o.length !== parsed.length) problems.push(`length ${parsed.length}, bencode library says ${o.length}`)
    }
  }
  return problems
}
