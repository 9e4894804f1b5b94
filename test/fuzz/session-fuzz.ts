/**
 * The metadata session under fuzzed input, over the in-memory transport: each case opens a
 * connection to a real MetadataPeer, writes a mutated message sequence (or random bytes
 * after a handshake, or a random MSE opener), lets the peer answer, and checks everything it
 * sent (validate.ts). A throw that escapes the session is caught as an uncaught exception
 * and pinned on its case by replaying the batch one case at a time.
 *
 * Invariants per case: no exception escapes; every byte sent is well-formed; every data
 * message carries the right bytes; never a piece message; output bounded; the connection
 * closes when the other end goes away. Per run: no connection is left open.
 */
import bencode from 'bencode'
import { createHash } from 'node:crypto'
import { MetadataPeer } from '../../src/core/metadata-peer.ts'
import { memoryPair } from '../../src/transport/memory.ts'
import { Rng, caseSeed, chunk, concat, mutate } from './prng.ts'
import { handshake, extendedHandshake, longSequence, politeSequence, validSequence, type FuzzTorrent } from './messages.ts'
import { GuardedWire } from '../../src/core/wire.ts'
import { validateOutput } from './validate.ts'

const PIECE = 16 * 1024

export interface SessionFuzzOptions {
  seed: number
  /** Stop after this many cases... */
  runs?: number
  /** ...or after this many seconds, whichever comes first. */
  seconds?: number
  /** Run only case indexes i with i % workers === worker. */
  worker?: number
  workers?: number
  /** Replay exactly these case indexes. */
  only?: number[]
  /** Cases in flight at once (they share drain ticks). */
  batch?: number
}

export interface CaseFailure {
  seed: number
  index: number
  mode: string
  problems: string[]
  /** The input as hex (first 4 KiB), for a regression test. */
  inputHex: string
}

export interface SessionFuzzReport {
  seed: number
  cases: number
  /** Messages in the sequences written, before mutation. */
  messages: number
  /** Messages the peer's Wire actually parsed (handshakes, keep-alives and messages): the honest count. */
  parsed: number
  bytesIn: number
  bytesOut: number
  dataMessages: number
  closes: Record<string, number>
  failures: CaseFailure[]
  /** Distinct problem kinds (message without numbers) -> count. */
  kinds: Record<string, number>
  openAtEnd: number
  ms: number
  heapUsedMiB: number
}

function makeTorrent (name: string, pieces: number): { torrentBytes: Uint8Array, torrent: FuzzTorrent } {
  const hashes = new Uint8Array(20 * pieces)
  for (let i = 0; i < hashes.length; i++) hashes[i] = (i * 131 + name.length) & 0xff
  const info = { length: pieces * PIECE, name: Buffer.from(name), 'piece length': PIECE, pieces: hashes }
  const infoBytes = new Uint8Array(bencode.encode(info))
  const infoHash = new Uint8Array(createHash('sha1').update(infoBytes).digest())
  return {
    torrentBytes: new Uint8Array(bencode.encode({ info })),
    torrent: { infoHash, infoHashHex: Buffer.from(infoHash).toString('hex'), infoBytes, infoSize: infoBytes.length, pieceCount: pieces, metadataPieces: Math.ceil(infoBytes.length / PIECE) }
  }
}

/** Two torrents: one metadata piece, and four (the last one short). */
export const FUZZ_TORRENTS = [makeTorrent('fuzz-small.bin', 7), makeTorrent('fuzz-large.bin', 2600)]

interface Case {
  index: number
  mode: string
  encryption: boolean
  writes: Uint8Array[]
  input: Uint8Array
  messages: number
}

/** Builds case `index` of the run from its own seed. */
export function buildCase (runSeed: number, index: number): Case {
  const rng = new Rng(caseSeed(runSeed, index))
  const torrents = FUZZ_TORRENTS.map(t => t.torrent)
  const torrent = rng.pick(torrents)
  const r = rng.int(1000)
  let mode: string
  let input: Uint8Array
  let messages: number
  let encryption = false
  if (r < 3) {
    // A random MSE opener: a would-be public key and junk; the peer answers with its key and padding at most.
    mode = 'mse-random'
    encryption = true
    input = rng.bytes(rng.chance(0.5) ? rng.range(1, 95) : rng.range(96, 700))
    messages = 1
  } else if (r < 60) {
    mode = 'random-after-handshake'
    const head = [handshake(rng, torrent.infoHash)]
    if (rng.chance(0.5)) head.push(extendedHandshake(rng, torrent))
    input = concat(...head, rng.bytes(rng.range(1, 2000)))
    messages = head.length + 1
  } else if (r < 350) {
    mode = 'long'
    const seq = longSequence(rng, torrent)
    input = seq.bytes
    messages = seq.messages
    // The last message or two may be cut or spliced, as a connection dropped mid-message would be.
    if (rng.chance(0.3)) input = mutate(rng, input, validSequence(rng, torrent).bytes, rng.pick(['truncate', 'splice', 'insert'] as const))
  } else if (r < 370) {
    mode = 'polite'
    const seq = politeSequence(rng, torrent)
    input = seq.bytes
    messages = seq.messages
  } else {
    mode = 'mutated'
    const seq = validSequence(rng, torrent)
    messages = seq.messages
    input = seq.bytes
    const donor = validSequence(rng, rng.pick(torrents)).bytes
    const count = rng.chance(0.15) ? 0 : rng.range(1, rng.chance(0.8) ? 3 : 12)
    for (let i = 0; i < count; i++) input = mutate(rng, input, donor)
    // Some connections also accept MSE, as real TCP ones do: a mangled handshake then goes down that path.
    encryption = rng.chance(0.01)
  }
  return { index, mode, encryption, writes: chunk(rng, input), input, messages }
}

interface Running {
  kase: Case
  out: Uint8Array[]
  outLength: number
  theirs: ReturnType<typeof memoryPair>[1]
  conn: ReturnType<MetadataPeer['handleConnection']>
}

/**
 * A distinct address per case, consecutive cases in different /24s: the fuzz tests the
 * session, so per-address admission caps must not be what closes a case.
 */
function addressOf (index: number): string {
  return `10.${index & 255}.${(index >>> 8) & 255}.${((index >>> 16) & 255) || 1}`
}

const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

/** Longest a correct peer may send on one connection: every metadata copy it allows, plus framing. */
function outputCap (t: FuzzTorrent): number {
  return 4 * (t.infoSize + 64 * t.metadataPieces) + 64 * 1024
}

export async function runSessionFuzz (options: SessionFuzzOptions, onProgress?: (r: SessionFuzzReport) => void): Promise<SessionFuzzReport> {
  const started = Date.now()
  const peer = new MetadataPeer({ connectionLimit: 100_000, perIpLimit: 100_000 })
  for (const t of FUZZ_TORRENTS) await peer.addTorrent(t.torrentBytes, { source: t.torrent.infoHashHex })
  const byHash = new Map(FUZZ_TORRENTS.map(t => [t.torrent.infoHashHex, t.torrent]))
  const report: SessionFuzzReport = {
    seed: options.seed, cases: 0, messages: 0, parsed: 0, bytesIn: 0, bytesOut: 0, dataMessages: 0, closes: {}, failures: [], kinds: {}, openAtEnd: 0, ms: 0, heapUsedMiB: 0
  }
  peer.on('peer-close', e => { report.closes[e.reason] = (report.closes[e.reason] ?? 0) + 1 })

  // Count what the Wire under test really parses (read-only wrappers, removed at the end).
  const proto = GuardedWire.prototype as unknown as Record<string, (...args: unknown[]) => unknown>
  let counting = true
  const originals: Array<[string, (...args: unknown[]) => unknown]> = []
  for (const name of ['_onHandshakeBuffer', '_onMessage', '_onKeepAlive']) {
    const original = proto[name]
    originals.push([name, original])
    proto[name] = function (this: unknown, ...args: unknown[]) { if (counting) report.parsed += 1; return original.apply(this, args) }
  }

  // Anything thrown out of the session lands here; the batch is then replayed case by case.
  let uncaught: Error[] = []
  const onUncaught = (err: Error): void => { uncaught.push(err) }
  process.on('uncaughtException', onUncaught)

  const workers = options.workers ?? 1
  const worker = options.worker ?? 0
  const batchSize = options.batch ?? 32
  const deadline = options.seconds !== undefined ? started + options.seconds * 1000 : Infinity
  const maxRuns = options.runs ?? Infinity
  const only = options.only
  let nextIndex = worker
  let onlyAt = 0
  const take = (): number | undefined => {
    if (only) return onlyAt < only.length ? only[onlyAt++] : undefined
    if (report.cases >= maxRuns || Date.now() >= deadline) return undefined
    const i = nextIndex
    nextIndex += workers
    return i
  }

  const fail = (kase: Case, problems: string[]): void => {
    for (const p of problems) {
      const kind = p.replace(/ at at .*$/, '').replace(/\d+/g, 'N')
      report.kinds[kind] = (report.kinds[kind] ?? 0) + 1
    }
    if (report.failures.length < 50) {
      report.failures.push({ seed: options.seed, index: kase.index, mode: kase.mode, problems, inputHex: Buffer.from(kase.input.subarray(0, 4096)).toString('hex') })
    }
  }

  const start = (kase: Case): Running => {
    const [ours, theirs] = memoryPair()
    const run: Running = { kase, out: [], outLength: 0, theirs, conn: undefined as never }
    theirs.on('data', (d: Uint8Array) => { run.out.push(d); run.outLength += d.length })
    theirs.on('error', () => {})
    run.conn = peer.handleConnection(ours, { transport: 'memory', direction: 'incoming', encryption: kase.encryption, remoteAddress: addressOf(kase.index) })
    for (const w of kase.writes) {
      if (theirs.destroyed) break
      theirs.write(w)
    }
    return run
  }

  /** Lets the peer process what it was sent: ticks until no connection's output grows. */
  const drain = async (runs: Running[]): Promise<void> => {
    let before = -1
    for (let i = 0; i < 50; i++) {
      await tick()
      const now = runs.reduce((n, r) => n + r.outLength, 0) + runs.filter(r => r.conn.closed).length
      if (now === before && i >= 1) return
      before = now
    }
  }

  const check = (run: Running): string[] => {
    const { kase } = run
    const out = run.out.length === 1 ? run.out[0] : concat(...run.out)
    const problems: string[] = []
    const startsPlain = out.length >= 20 && out[0] === 19 && out[1] === 0x42
    if (kase.encryption && !startsPlain) {
      // MSE: our 96-byte key and at most 512 bytes of padding before the handshake can complete.
      if (out.length > 96 + 512) problems.push(`MSE: sent ${out.length} bytes to a peer that never completed the handshake`)
    } else {
      const verdict = validateOutput(out, byHash, peer.peerId)
      problems.push(...verdict.problems)
      report.dataMessages += verdict.dataPieces.size
      const torrent = verdict.handshake ? byHash.get(Buffer.from(out.subarray(28, 48)).toString('hex'))! : undefined
      if (torrent && out.length > outputCap(torrent)) problems.push(`sent ${out.length} bytes on one connection (cap ${outputCap(torrent)})`)
      // The control: an unmutated, polite exchange must get the whole metadata.
      if (kase.mode === 'polite' && (!torrent || verdict.dataPieces.size !== torrent.metadataPieces)) {
        problems.push(`a polite leecher got ${verdict.dataPieces.size} of ${torrent?.metadataPieces ?? '?'} metadata pieces (closed: ${run.conn.closed?.reason ?? 'no'})`)
      }
    }
    if (run.conn.closed && !run.conn.closed.reason) problems.push('closed without a reason')
    report.bytesOut += out.length
    return problems
  }

  const finish = async (runs: Running[]): Promise<void> => {
    for (const r of runs) r.theirs.destroy()
    for (let i = 0; i < 50 && runs.some(r => !r.conn.closed); i++) await tick()
  }

  let lastProgress = Date.now()
  for (;;) {
    const batch: Case[] = []
    for (let i = 0; i < batchSize; i++) {
      const index = take()
      if (index === undefined) break
      batch.push(buildCase(options.seed, index))
    }
    if (batch.length === 0) break
    uncaught = []
    const runs = batch.map(start)
    await drain(runs)
    const verdicts = runs.map(check)
    await finish(runs)
    for (const r of runs) if (!r.conn.closed) verdicts[runs.indexOf(r)].push('connection still open after the other end was destroyed')
    if (uncaught.length > 0) {
      // Pin each escaped throw on its case: replay the batch one case at a time (not counted again).
      counting = false
      for (let k = 0; k < batch.length; k++) {
        uncaught = []
        const run = start(batch[k])
        await drain([run])
        await finish([run])
        if (uncaught.length > 0) verdicts[k].push(...uncaught.map(e => `THROWN OUT OF THE SESSION: ${describeThrow(e)}`))
      }
      uncaught = []
      counting = true
    }
    for (let k = 0; k < batch.length; k++) {
      report.cases += 1
      report.messages += batch[k].messages
      report.bytesIn += batch[k].input.length
      if (verdicts[k].length > 0) fail(batch[k], verdicts[k])
    }
    if (onProgress && Date.now() - lastProgress > 5000) { lastProgress = Date.now(); onProgress({ ...report, ms: Date.now() - started }) }
  }
  for (let i = 0; i < 100 && peer.peers().length > 0; i++) await tick()
  report.openAtEnd = peer.peers().length
  process.off('uncaughtException', onUncaught)
  for (const [name, original] of originals) proto[name] = original
  await peer.close()
  report.ms = Date.now() - started
  report.heapUsedMiB = Math.round(process.memoryUsage().heapUsed / 2 ** 20)
  return report
}

/** The known crash of issue 8 item 1 gets a name, so a report says which bug it hit. */
export function describeThrow (err: Error): string {
  const where = (err.stack ?? '').split('\n').slice(1, 4).map(l => l.trim()).join(' < ')
  const known = /Unrecognized extension: ut_metadata/.test(err.message)
    ? ' [known: issue 8 item 1, peer declared ut_metadata 0/invalid then asked for metadata; fixed in peer-connection.ts by hostile-core]'
    : ''
  return `${err.name}: ${err.message}${known} at ${where}`
}
