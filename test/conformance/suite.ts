/**
 * The transport conformance suite, written once. Every transport (memory, TCP, uTP,
 * WebRTC in Node and in the browser) runs these cases through the same MetadataPeer; a
 * transport's test file only says how to make the peer reachable and how to dial it.
 *
 * Isomorphic on purpose: no node:test, no node:* imports, so a browser page can run it.
 */
import { hash } from 'uint8-util'
// The session class itself (not the public interface): the suite also reads its store.
import { MetadataPeer, type MetadataPeerOptions, type PeerClosedEvent } from '../../src/core/metadata-peer.ts'
import { limits, type ByteStream } from '../../src/index.ts'
import { startLeecher, type Leecher } from '../fixtures/leecher.ts'
import { makeTorrent, makeLargeTorrent, makeUnsortedTorrent, type TestTorrent } from '../fixtures/memory-torrents.ts'

/** How a transport makes a MetadataPeer reachable, and how a leecher dials it. */
export interface ConformanceTransport {
  name: string
  /** Whether incoming connections accept MSE (Node TCP/uTP). */
  encryption?: boolean
  start (peer: MetadataPeer): Promise<{ connect (): Promise<ByteStream>, stop (): Promise<void> }>
}

export interface CaseContext {
  peer: MetadataPeer
  connect (): Promise<ByteStream>
  add (t: TestTorrent): Promise<{ infoHash: string, infoSize: number, info: Uint8Array }>
  leech (t: { infoHash: string }, options?: { fast?: boolean, metadata?: boolean, encrypt?: boolean }): Promise<Leecher>
  nextClose (): Promise<PeerClosedEvent>
  transport: ConformanceTransport
}

export interface ConformanceCase {
  name: string
  /** Only for transports that accept MSE/PE encrypted connections. */
  needsEncryption?: boolean
  options?: MetadataPeerOptions
  run (ctx: CaseContext): Promise<void>
}

const WAIT_MS = 10_000

function check (condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`conformance: ${message}`)
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** The next event of `name` matching `match`, or a rejection after `ms` (a safety net, not a poll). */
function nextEvent<K extends 'metadata-served' | 'peer'> (peer: MetadataPeer, name: K, match: (e: any) => boolean, ms = WAIT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const on = (e: unknown): void => { if (match(e)) { clearTimeout(timer); peer.off(name, on as never); resolve() } }
    const timer = setTimeout(() => { peer.off(name, on as never); reject(new Error(`conformance: no ${name} within ${ms} ms`)) }, ms)
    peer.on(name, on as never)
  })
}

function fetchMetadata (leecher: Leecher): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('conformance: metadata fetch timed out')), WAIT_MS)
    const ext = (leecher.wire as any).ut_metadata
    ext.once('metadata', (torrent: Uint8Array) => { clearTimeout(timer); resolve(torrent) })
    ext.fetch()
  })
}

async function expectClose (ctx: CaseContext, closing: Promise<PeerClosedEvent>, reason: string): Promise<PeerClosedEvent> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const event = await Promise.race([
    closing,
    new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`conformance: no peer close (${reason}) within ${WAIT_MS} ms`)), WAIT_MS) })
  ]).finally(() => clearTimeout(timer))
  check(event.reason === reason, `expected close reason ${reason}, got ${event.reason} (${event.op}: ${event.message ?? ''})`)
  check(typeof event.op === 'string' && event.op.length > 0, 'every close names the operation')
  return event
}

async function bytesOf (peer: MetadataPeer, infoHash: string): Promise<Uint8Array> {
  return await peer.store.info(infoHash)
}

export const conformanceCases: ConformanceCase[] = [
  {
    name: 'serves every piece of a multi-piece info dict, byte-exact, and never a data piece',
    async run (ctx) {
      const t = await ctx.add(makeLargeTorrent())
      check(t.infoSize > limits.METADATA_PIECE_SIZE, 'fixture spans several metadata pieces')
      let served = 0
      ctx.peer.on('metadata-served', e => { if (e.infoHash === t.infoHash) served += 1 })
      const servedEvent = nextEvent(ctx.peer, 'metadata-served', e => e.infoHash === t.infoHash)
      const leecher = await ctx.leech(t)
      await fetchMetadata(leecher)
      const pieces = leecher.observed.metadataMessages.filter(m => m.msg.msg_type === 1)
      const joined = new Uint8Array(pieces.reduce((n, p) => n + p.data.length, 0))
      let at = 0
      for (const p of pieces.sort((a, b) => a.msg.piece - b.msg.piece)) { joined.set(p.data, at); at += p.data.length }
      check(equalBytes(joined, t.info), 'served bytes equal the info dict in the .torrent')
      check(await hash(joined as Uint8Array<ArrayBuffer>, 'hex', 'sha-1') === t.infoHash, 'served bytes hash to the info hash')
      check(pieces.every(p => p.msg.total_size === t.infoSize), 'every data message carries total_size')
      check(pieces.slice(0, -1).every(p => p.data.length === limits.METADATA_PIECE_SIZE), 'all but the last piece are 16 KiB')
      await servedEvent
      check(served === 1, 'metadata-served once')
      check(leecher.observed.pieces === 0, 'no piece message was sent')
      check(!leecher.observed.interested && leecher.observed.requests === 0, 'never interested, never requests')
      const stats = ctx.peer.torrentStats(t.infoHash)
      check(stats.metadataServed === 1 && stats.metadataPiecesServed === pieces.length, 'counters count the exchange')
      leecher.destroy()
    }
  },
  {
    name: 'serves a non-canonical (unsorted keys) info dict exactly as in the file',
    async run (ctx) {
      const t = await ctx.add(makeUnsortedTorrent())
      const leecher = await ctx.leech(t)
      await fetchMetadata(leecher)
      const data = leecher.observed.metadataMessages.find(m => m.msg.msg_type === 1)!.data
      check(equalBytes(data, t.info), 'served bytes are the file bytes')
      check(await hash(data as Uint8Array<ArrayBuffer>, 'hex', 'sha-1') === t.infoHash, 'served bytes hash to the info hash')
      leecher.destroy()
    }
  },
  {
    name: 'advertises ut_metadata and metadata_size, then have_none (fast extension)',
    async run (ctx) {
      const t = await ctx.add(makeTorrent())
      const leecher = await ctx.leech(t, { fast: true })
      await leecher.waitFor('extended handshake and have_none', o => o.extendedHandshake !== undefined && o.haveNone)
      const hs = leecher.observed.extendedHandshake!
      check(typeof hs.m?.ut_metadata === 'number' && hs.m.ut_metadata > 0, 'm.ut_metadata is a positive id')
      check(hs.metadata_size === t.infoSize, `metadata_size is ${t.infoSize}`)
      check(leecher.observed.handshake?.infoHash === t.infoHash, 'handshake echoes the info hash')
      check(leecher.observed.handshake?.extensions.fast === true, 'fast bit set')
      check(leecher.observed.bitfield === undefined, 'no bitfield when have_none was sent')
      leecher.destroy()
    }
  },
  {
    name: 'sends an all-zero bitfield of the right length without the fast extension',
    async run (ctx) {
      const t = await ctx.add(makeTorrent({ pieces: 20 }))
      const leecher = await ctx.leech(t, { fast: false })
      await leecher.waitFor('bitfield', o => o.bitfield !== undefined)
      const bf = leecher.observed.bitfield!
      check(bf.length === 3, `20 pieces -> 3 bytes of bitfield, got ${bf.length}`)
      check(bf.every(b => b === 0), 'bitfield is all zero')
      check(!leecher.observed.haveNone, 'no have_none without fast')
      leecher.destroy()
    }
  },
  {
    name: 'answers every request sent at once, duplicates included',
    async run (ctx) {
      const t = await ctx.add(makeLargeTorrent())
      const leecher = await ctx.leech(t, { metadata: true })
      await leecher.waitFor('extended handshake', o => o.extendedHandshake !== undefined)
      const count = Math.ceil(t.infoSize / limits.METADATA_PIECE_SIZE)
      for (let round = 0; round < 2; round++) for (let i = 0; i < count; i++) leecher.sendMetadataMessage({ msg_type: 0, piece: i })
      await leecher.waitFor('all data messages', o => o.metadataMessages.filter(m => m.msg.msg_type === 1).length === 2 * count)
      const last = leecher.observed.metadataMessages.find(m => m.msg.piece === count - 1)!
      check(last.data.length === t.infoSize - (count - 1) * limits.METADATA_PIECE_SIZE, 'last piece is the short remainder')
      leecher.destroy()
    }
  },
  {
    name: 'rejects only invalid indexes and keeps serving',
    async run (ctx) {
      const t = await ctx.add(makeTorrent())
      const leecher = await ctx.leech(t)
      await leecher.waitFor('extended handshake', o => o.extendedHandshake !== undefined)
      leecher.sendMetadataMessage({ msg_type: 0, piece: 1 }) // one piece only: index 1 is out of range
      leecher.sendMetadataMessage({ msg_type: 0, piece: 99999 })
      leecher.sendMetadataMessage({ msg_type: 0, piece: -1 })
      leecher.sendMetadataMessage({ msg_type: 0, piece: 0 })
      await leecher.waitFor('three rejects and one data', o => o.metadataMessages.length === 4)
      const types = leecher.observed.metadataMessages.map(m => m.msg.msg_type)
      check(types.filter(x => x === 2).length === 3, 'three rejects')
      check(types.filter(x => x === 1).length === 1, 'the valid request is served')
      // BEP 9: a reject names the piece that was asked for.
      const rejected = leecher.observed.metadataMessages.filter(m => m.msg.msg_type === 2).map(m => m.msg.piece)
      check(rejected.join() === '1,99999,-1', `rejects echo the indexes asked (got ${rejected.join()})`)
      check(ctx.peer.torrentStats(t.infoHash).metadataRejects === 3, 'rejects are counted')
      check(!leecher.observed.closed, 'connection stays open')
      leecher.destroy()
    }
  },
  {
    name: 'closes on a request whose piece is not an integer, with a reason',
    async run (ctx) {
      const t = await ctx.add(makeTorrent())
      const leecher = await ctx.leech(t)
      await leecher.waitFor('extended handshake', o => o.extendedHandshake !== undefined)
      const closed = ctx.nextClose()
      leecher.sendMetadataMessage({ msg_type: 0, piece: '0' })
      const event = await closed
      check(event.reason === 'bad-extension-message' && event.op === 'extension', `closed with reason bad-extension-message (got ${event.reason}/${event.op})`)
      check(leecher.observed.metadataMessages.length === 0, 'nothing sent for it')
      leecher.destroy()
    }
  },
  {
    name: 'refuses BitTorrent piece requests: reject with fast, silence without, never data',
    async run (ctx) {
      const t = await ctx.add(makeTorrent())
      const fast = await ctx.leech(t, { fast: true })
      await fast.waitFor('have_none', o => o.haveNone)
      const raw = fast.wire as any
      raw.interested()
      // Wire.request refuses while choked; the message is written raw, as a hostile peer would.
      raw._message(6, [0, 0, 16384], null)
      await fast.waitFor('reject', o => o.rejects.length === 1)
      const slow = await ctx.leech(t, { fast: false })
      await slow.waitFor('bitfield', o => o.bitfield !== undefined)
      ;(slow.wire as any)._message(6, [0, 0, 16384], null)
      await slow.flush() // the request before it has been handled
      check(ctx.peer.torrentStats(t.infoHash).pieceRequestsRefused === 2, 'both requests counted as refused')
      check(fast.observed.pieces === 0 && slow.observed.pieces === 0, 'no piece message')
      fast.destroy()
      slow.destroy()
    }
  },
  {
    name: 'closes a handshake for an unknown info hash with a reason',
    async run (ctx) {
      await ctx.add(makeTorrent())
      const closing = ctx.nextClose()
      const leecher = await ctx.leech({ infoHash: '0123456789abcdef0123456789abcdef01234567' })
      await expectClose(ctx, closing, 'unknown-infohash')
      await leecher.closed
    }
  },
  {
    name: 'refuses private torrents by default',
    async run (ctx) {
      const t = await ctx.add(makeTorrent({ private: true }))
      const closing = ctx.nextClose()
      const leecher = await ctx.leech(t)
      await expectClose(ctx, closing, 'private-torrent')
      await leecher.closed
    }
  },
  {
    name: 'serves private torrents when allowed',
    options: { allowPrivate: true },
    async run (ctx) {
      const t = await ctx.add(makeTorrent({ private: true }))
      const leecher = await ctx.leech(t)
      const torrent = await fetchMetadata(leecher)
      check(torrent.length > t.infoSize, 'metadata received')
      leecher.destroy()
    }
  },
  {
    name: 'closes a peer that announces an oversized message',
    async run (ctx) {
      const t = await ctx.add(makeTorrent())
      const leecher = await ctx.leech(t)
      await leecher.waitFor('extended handshake', o => o.extendedHandshake !== undefined)
      const closing = ctx.nextClose()
      ;(leecher.wire as any)._push(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 20]))
      await expectClose(ctx, closing, 'message-too-large')
    }
  },
  {
    name: 'closes a peer that fetches the metadata over and over',
    async run (ctx) {
      const t = await ctx.add(makeTorrent())
      const leecher = await ctx.leech(t)
      await leecher.waitFor('extended handshake', o => o.extendedHandshake !== undefined)
      const closing = ctx.nextClose()
      for (let i = 0; i <= limits.MAX_METADATA_COPIES_PER_CONNECTION; i++) leecher.sendMetadataMessage({ msg_type: 0, piece: 0 })
      await expectClose(ctx, closing, 'metadata-overfetch')
      check(leecher.observed.metadataMessages.length <= limits.MAX_METADATA_COPIES_PER_CONNECTION, 'stopped at the cap')
    }
  },
  {
    name: 'closes a malformed ut_metadata message',
    async run (ctx) {
      const t = await ctx.add(makeTorrent())
      const leecher = await ctx.leech(t)
      await leecher.waitFor('extended handshake', o => o.extendedHandshake !== undefined)
      const closing = ctx.nextClose()
      const ourId = leecher.observed.extendedHandshake!.m.ut_metadata
      // Sent with the id the metadata peer gave us (as a real request would be), but not bencode.
      leecher.wire.extended(ourId, new Uint8Array([0x64, 0x38, 0x3a, 0xff]))
      await expectClose(ctx, closing, 'bad-extension-message')
    }
  },
  {
    name: 'closes a request from a peer that never announced ut_metadata',
    async run (ctx) {
      const t = await ctx.add(makeTorrent())
      const leecher = await ctx.leech(t, { metadata: false })
      await leecher.waitFor('extended handshake', o => o.extendedHandshake !== undefined)
      const closing = ctx.nextClose()
      const ourId = leecher.observed.extendedHandshake!.m.ut_metadata
      leecher.wire.extended(ourId, { msg_type: 0, piece: 0 })
      await expectClose(ctx, closing, 'no-ut-metadata')
    }
  },
  {
    name: 'closes garbage that is not BitTorrent',
    async run (ctx) {
      await ctx.add(makeTorrent())
      const closing = ctx.nextClose()
      const stream = await ctx.connect()
      const garbage = new Uint8Array(4096)
      for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7 + 3) & 0xff
      // Two writes: with MSE allowed, junk first looks like a DH key; bittorrent-protocol
      // checks for the crypto sync pattern when more data arrives, and gives up then. The
      // second goes once the peer has taken the first: it answers a "DH key" with its own
      // (its first bytes back), or, without MSE, closes at once.
      const taken = new Promise<'answered' | 'closed'>(resolve => {
        stream.once!('data', () => resolve('answered'))
        void closing.then(() => resolve('closed'), () => resolve('closed'))
      })
      stream.write!(garbage.subarray(0, 200))
      if (await taken === 'answered') stream.write!(garbage.subarray(200))
      await expectClose(ctx, closing, 'not-bittorrent')
      stream.destroy()
    }
  },
  {
    name: 'drops a peer that never completes the handshake',
    options: { handshakeTimeoutMs: 300 },
    async run (ctx) {
      await ctx.add(makeTorrent())
      const closing = ctx.nextClose()
      const stream = await ctx.connect()
      await expectClose(ctx, closing, 'handshake-timeout')
      stream.destroy()
    }
  },
  {
    name: 'drops a peer that goes silent after the handshake',
    options: { idleTimeoutMs: 400 },
    async run (ctx) {
      const t = await ctx.add(makeTorrent())
      const closing = ctx.nextClose()
      const leecher = await ctx.leech(t)
      await expectClose(ctx, closing, 'idle-timeout')
      await leecher.closed
    }
  },
  {
    name: 'closes the peers of a removed torrent, and refuses it afterwards',
    async run (ctx) {
      const t = await ctx.add(makeTorrent())
      const leecher = await ctx.leech(t)
      await leecher.waitFor('extended handshake', o => o.extendedHandshake !== undefined)
      const closing = ctx.nextClose()
      check(ctx.peer.removeTorrent(t.infoHash), 'removed')
      await expectClose(ctx, closing, 'torrent-removed')
      const again = ctx.nextClose()
      await ctx.leech(t)
      await expectClose(ctx, again, 'unknown-infohash')
    }
  },
  {
    name: 'enforces the connection limit with a reason',
    options: { connectionLimit: 1 },
    async run (ctx) {
      const t = await ctx.add(makeLargeTorrent())
      const first = await ctx.leech(t)
      await first.waitFor('first handshake', o => o.extendedHandshake !== undefined)
      // The first peer is mid-exchange (asked for one piece of several): it keeps its slot.
      first.wire.extended(first.observed.extendedHandshake!.m.ut_metadata, { msg_type: 0, piece: 0 })
      await first.waitFor('a data message', o => o.metadataMessages.some(m => m.msg.msg_type === 1))
      const closing = ctx.nextClose()
      await ctx.leech(t)
      await expectClose(ctx, closing, 'connection-limit')
      check(!first.observed.closed, 'the first connection is unaffected')
      first.destroy()
    }
  },
  {
    name: 'at the limit, a handshaken peer that never asked makes room for a newcomer',
    options: { connectionLimit: 1 },
    async run (ctx) {
      const t = await ctx.add(makeTorrent())
      const quiet = await ctx.leech(t)
      await quiet.waitFor('first handshake', o => o.extendedHandshake !== undefined)
      const closing = ctx.nextClose()
      if (ctx.transport.name === 'utp') {
        // A uTP newcomer is a SYN, which anyone can spoof: it never displaces a peer that
        // handshook and may be about to ask; it is refused instead.
        await ctx.leech(t)
        await expectClose(ctx, closing, 'connection-limit')
        check(!quiet.observed.closed, 'the handshaken peer keeps its slot')
        quiet.destroy()
        return
      }
      const newcomer = await ctx.leech(t)
      await expectClose(ctx, closing, 'evicted')
      await fetchMetadata(newcomer)
      check(ctx.peer.torrentStats(t.infoHash).metadataServed === 1, 'the newcomer was served')
      newcomer.destroy()
    }
  },
  {
    name: 'serves a peer that encrypts (MSE/PE) its connection',
    needsEncryption: true,
    async run (ctx) {
      await ctx.add(makeTorrent())
      const t = await ctx.add(makeLargeTorrent())
      const leecher = await ctx.leech(t, { encrypt: true })
      await fetchMetadata(leecher)
      const data = leecher.observed.metadataMessages.filter(m => m.msg.msg_type === 1)
      check(data.length === Math.ceil(t.infoSize / limits.METADATA_PIECE_SIZE), 'every piece arrived over the encrypted stream')
      check(ctx.peer.torrentStats(t.infoHash).metadataServed === 1, 'served once')
      leecher.destroy()
    }
  },
  {
    name: 'closes an encrypted handshake for an unknown info hash',
    needsEncryption: true,
    async run (ctx) {
      await ctx.add(makeTorrent())
      const closing = ctx.nextClose()
      await ctx.leech({ infoHash: '0123456789abcdef0123456789abcdef01234567' }, { encrypt: true })
      const event = await expectClose(ctx, closing, 'unknown-infohash')
      check(event.op === 'encryption', 'refused during the MSE handshake')
    }
  },
  {
    name: 'closes every peer with reason shutdown on close()',
    async run (ctx) {
      const t = await ctx.add(makeTorrent())
      const leecher = await ctx.leech(t)
      await leecher.waitFor('extended handshake', o => o.extendedHandshake !== undefined)
      const closing = ctx.nextClose()
      await ctx.peer.close()
      await expectClose(ctx, closing, 'shutdown')
      await leecher.closed
    }
  }
]

/** Runs one case over a transport with a fresh MetadataPeer, and tears everything down. */
export async function runConformanceCase (transport: ConformanceTransport, kase: ConformanceCase): Promise<void> {
  if (kase.needsEncryption && !transport.encryption) throw new Error(`${kase.name}: not applicable to ${transport.name}; filter with casesFor()`)
  const peer = new MetadataPeer(kase.options)
  const reachable = await transport.start(peer)
  const closes: PeerClosedEvent[] = []
  const waiters: Array<(e: PeerClosedEvent) => void> = []
  peer.on('peer-close', e => {
    const w = waiters.shift()
    if (w) w(e)
    else closes.push(e)
  })
  const leechers: Leecher[] = []
  const ctx: CaseContext = {
    peer,
    transport,
    connect: () => reachable.connect(),
    async add (t) {
      const record = await peer.addTorrent(t.torrentBytes, { source: t.name })
      return { infoHash: record.infoHash, infoSize: record.infoSize, info: await bytesOf(peer, record.infoHash) }
    },
    async leech (t, options) {
      const leecher = startLeecher(await reachable.connect(), t.infoHash, options)
      leechers.push(leecher)
      return leecher
    },
    nextClose () {
      closes.length = 0
      return new Promise(resolve => waiters.push(resolve))
    }
  }
  try {
    await kase.run(ctx)
  } finally {
    for (const l of leechers) l.destroy()
    await peer.close()
    await reachable.stop()
  }
}

/** The cases that apply to a transport (MSE cases only where encryption is accepted). */
export function casesFor (transport: ConformanceTransport): ConformanceCase[] {
  return conformanceCases.filter(c => !c.needsEncryption || transport.encryption === true)
}
