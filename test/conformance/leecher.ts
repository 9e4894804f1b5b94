/**
 * The leecher side of conformance tests: a real bittorrent-protocol Wire with the
 * ut_metadata package, plus helpers to observe exactly what the metadata peer sends.
 */
import Wire from 'bittorrent-protocol'
import utMetadata from 'ut_metadata'
import bencode from 'bencode'
import { randomBytes } from 'uint8-util'
import type { ByteStream } from '../../src/index.ts'

export interface Observed {
  handshake?: { infoHash: string, extensions: Record<string, boolean> }
  extendedHandshake?: Record<string, any>
  haveNone: boolean
  bitfield?: Uint8Array
  pieces: number
  interested: boolean
  requests: number
  rejects: Array<[number, number, number]>
  metadataMessages: Array<{ msg: Record<string, any>, data: Uint8Array }>
  closed: boolean
}

export interface Leecher {
  wire: Wire
  observed: Observed
  /** Sends a raw ut_metadata message using the id the peer advertised. */
  sendMetadataMessage (msg: Record<string, unknown>): void
  /** Resolves once the wire has closed. */
  closed: Promise<void>
  /**
   * Resolves once `condition(observed)` holds, re-checked on every message the leecher sees
   * (no polling); rejects if the connection closes first or after `ms` as a safety net.
   */
  waitFor (what: string, condition: (observed: Observed) => boolean, ms?: number): Promise<void>
  /**
   * A sync point (like hyperswarm's flush()): a ut_metadata request for piece 0 and its answer.
   * The peer handles messages in order, so once the answer is here every message sent before
   * the flush has been processed.
   */
  flush (): Promise<void>
  destroy (): void
}

export function peerIdBytes (): Uint8Array {
  const id = randomBytes(20)
  id.set([45, 84, 84, 48, 48, 48, 48, 45]) // "-TT0000-"
  return id
}

/** Connects a leecher Wire to `stream` and handshakes for `infoHash`. */
export function startLeecher (stream: ByteStream, infoHash: string, options: { fast?: boolean, metadata?: boolean, encrypt?: boolean } = {}): Leecher {
  // encrypt: MSE/PE as the initiator, RC4 only (level 2), as WebTorrent and libtorrent do when forced.
  const wire = options.encrypt ? new Wire('tcpOutgoing', 2) : new Wire()
  stream.pipe(wire as any).pipe(stream as any)
  const observed: Observed = { haveNone: false, pieces: 0, interested: false, requests: 0, rejects: [], metadataMessages: [], closed: false }
  let resolveClosed!: () => void
  const closed = new Promise<void>(resolve => { resolveClosed = resolve })
  const onClose = (): void => { observed.closed = true; resolveClosed() }
  wire.on('close', onClose)
  wire.on('finish', onClose)
  stream.on('close', onClose)
  stream.on('error', onClose)
  if (options.metadata !== false) wire.use(utMetadata())
  wire.on('handshake', (ih: string, _id: string, extensions: Record<string, boolean>) => { observed.handshake = { infoHash: ih, extensions } })
  wire.on('extended', (ext: string, payload: any) => {
    if (ext === 'handshake') observed.extendedHandshake = payload
    else if (ext === 'ut_metadata') {
      const msg = bencode.decode(payload)
      const head = bencode.encode(msg).length
      observed.metadataMessages.push({ msg, data: payload.subarray(head) })
    }
  })
  wire.on('have-none', () => { observed.haveNone = true })
  wire.on('bitfield', (bf: any) => { observed.bitfield = bf.buffer ?? bf })
  wire.on('piece', () => { observed.pieces += 1 })
  wire.on('interested', () => { observed.interested = true })
  wire.on('request', () => { observed.requests += 1 })
  wire.on('reject', (i: number, o: number, l: number) => { observed.rejects.push([i, o, l]) })
  // Registered after the handlers above: by the time a waiter checks, `observed` is updated.
  const waiters = new Set<() => void>()
  const notify = (): void => { for (const w of [...waiters]) w() }
  for (const ev of ['handshake', 'extended', 'have-none', 'bitfield', 'piece', 'interested', 'request', 'reject', 'close', 'finish']) wire.on(ev, notify)
  stream.on('close', notify)
  stream.on('error', notify)
  const waitFor = (what: string, condition: (o: Observed) => boolean, ms = 10_000): Promise<void> => new Promise((resolve, reject) => {
    const done = (err?: Error): void => { clearTimeout(timer); waiters.delete(check); if (err) reject(err); else resolve() }
    const check = (): void => {
      if (condition(observed)) done()
      else if (observed.closed) done(new Error(`conformance: the connection closed while waiting for ${what}`))
    }
    const timer = setTimeout(() => done(new Error(`conformance: timed out waiting for ${what}`)), ms)
    waiters.add(check)
    check()
  })
  const handshake = (): void => wire.handshake(infoHash, peerIdBytes(), { fast: options.fast !== false, dht: false })
  if (options.encrypt) {
    wire.once('crypto-handshake', handshake)
    wire.startEncryption(infoHash)
  } else {
    handshake()
  }
  return {
    wire,
    observed,
    closed,
    sendMetadataMessage (msg) {
      const id = wire.peerExtendedMapping.ut_metadata
      if (id === undefined) throw new Error('peer has not advertised ut_metadata')
      wire.extended(id, bencode.encode(msg))
    },
    waitFor,
    async flush () {
      await waitFor('extended handshake', o => o.extendedHandshake !== undefined)
      const before = observed.metadataMessages.length
      const id = wire.peerExtendedMapping.ut_metadata
      if (id === undefined) throw new Error('peer has not advertised ut_metadata')
      wire.extended(id, bencode.encode({ msg_type: 0, piece: 0 }))
      await waitFor('flush', o => o.metadataMessages.length > before)
    },
    destroy () { wire.destroy(); stream.destroy() }
  }
}
