/**
 * One peer connection, whatever carries it: stream <-> Wire, the handshake rules of a
 * metadata-only peer, the ut_metadata request queue, and one close path that always
 * records `{reason, op}`.
 */
import type { Duplex as StreamxDuplex } from 'streamx'
import { arr2hex } from 'uint8-util'
import { GuardedWire, type WireSink } from './wire.ts'
import { firstOversizedFrame, routeHandshake } from './handshake-route.ts'
import { WirePool } from './wire-pool.ts'
import { UtMetadataServer, type MetadataRequestSink } from './ut-metadata-server.ts'
import { METADATA_PIECE_SIZE, REQUEST_QUEUE_SLACK, MAX_METADATA_COPIES_PER_CONNECTION, CLIENT_NAME } from './constants.ts'
import type { TorrentRecord } from './torrent.ts'
import type { PeerSession } from './peer-session.ts'
import type { TorrentCounters } from './stats.ts'

/** Which transport a connection came over. */
export type TransportName = 'tcp' | 'utp' | 'webrtc' | 'memory' | (string & {})

/** Any duplex byte stream: a Node socket, a uTP socket, a WebRTC data channel stream, a memory pipe. */
export interface ByteStream {
  pipe (dest: any): any
  on (event: string, fn: (...args: any[]) => void): any
  destroy (err?: Error): any
  write? (chunk: Uint8Array): any
  pause? (): any
  resume? (): any
  once? (event: string, fn: (...args: any[]) => void): any
  cork? (): void
  uncork? (): void
  /** One gathering write of `chunks`, none of them copied; false past the high-water mark, as write(). */
  writev? (chunks: Uint8Array[]): boolean
}

export interface ConnectionInfo {
  transport: TransportName
  direction: 'incoming' | 'outgoing'
  remoteAddress?: string
  remotePort?: number
  /** Required for outgoing connections: the torrent we are dialing for. */
  infoHash?: string
  /** Accept MSE/PE encrypted handshakes (Node TCP/uTP; never WebRTC or browsers). */
  encryption?: boolean
}

/** Why a connection ended: a short stable reason, the operation that failed, and detail. */
export interface CloseInfo {
  reason: string
  op: string
  message?: string
}

export interface PeerSummary {
  id: number
  transport: TransportName
  direction: 'incoming' | 'outgoing'
  remoteAddress: string | undefined
  remotePort: number | undefined
  infoHash: string | undefined
  peerId: string | undefined
  client: string | undefined
}


let nextId = 1

function joinChunks (chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let at = 0
  for (let i = 0; i < chunks.length; i++) { out.set(chunks[i], at); at += chunks[i].length }
  return out
}

/**
 * Stream and wire handlers shared by every connection (`this` is the stream or the wire), so a
 * connection allocates no closure per event it listens to. A stream finds its connection
 * under this key; a wire through its sink.
 */
const CONNECTION = Symbol('torrent-fish connection')
/** A closed connection's stream no longer names it (see PeerConnection.close): its late events find nothing to do. */
function connectionOf (stream: unknown): PeerConnection | undefined { return (stream as Record<symbol, PeerConnection | undefined>)[CONNECTION] }
function onStreamError (this: unknown, err: Error): void { connectionOf(this)?.close('stream-error', 'read', err.message) }
function onStreamEnd (this: unknown): void { connectionOf(this)?.close('remote-closed', 'read') }
function onStreamData (this: unknown, chunk: Uint8Array): void { connectionOf(this)?.onData(chunk) }
function onStreamActivity (this: unknown): void { connectionOf(this)?.touch() }

/**
 * What a closed connection holds instead of its stream: every call is dropped, as the
 * destroyed stream would have dropped (or failed, into a close already made) it.
 */
const DETACHED: ByteStream = {
  pipe: () => undefined,
  on: () => undefined,
  destroy: () => undefined,
  write: () => true
}
function onWireError (this: GuardedWire, err: Error): void { (this.sink as PeerConnection | null)?.close('protocol-error', 'wire', err.message) }
function onWireClose (this: GuardedWire): void { (this.sink as PeerConnection | null)?.onWireEnd() }
function onWireHandshake (this: GuardedWire, infoHash: string): void { (this.sink as PeerConnection | null)?.onHandshake(infoHash) }

/** What every wire gets once: our ut_metadata server and the shared handlers of the base class's events. */
function setUpWire (wire: GuardedWire): void {
  wire.use(UtMetadataServer)
  wire.on('error', onWireError)
  wire.on('handshake', onWireHandshake)
}

/** Plaintext direct-mode wires, recycled from one connection to the next (see wire-pool.ts). */
const wires = new WirePool(setUpWire)

/**
 * Our extended handshake's fields, one frozen object per (metadata_size, port): the wire
 * finds the encoded bytes by the object (GuardedWire._sendExtendedHandshake), so a
 * connection neither builds the object nor a key for it.
 */
const extendedHandshakes = new Map<number, Readonly<Record<string, unknown>>>()
const EXTENDED_HANDSHAKES_MAX = 4096

function extendedHandshakeFor (infoSize: number, port: number | undefined): Readonly<Record<string, unknown>> {
  const key = infoSize * 65536 + (port ?? 0)
  let hs = extendedHandshakes.get(key)
  if (!hs) {
    hs = Object.freeze({ v: CLIENT_NAME, metadata_size: infoSize, ...(port ? { p: port } : {}) })
    if (extendedHandshakes.size >= EXTENDED_HANDSHAKES_MAX) extendedHandshakes.clear()
    extendedHandshakes.set(key, hs)
  }
  return hs
}

/**
 * A tick's output from this size on goes to a stream with its own gathering write as the
 * messages themselves: joining them is a copy of each piece into a buffer of its own, past
 * the size Node's shared allocation pool serves (4 KiB), while the gathering write is one
 * syscall either way.
 */
const GATHER_FROM_WRITEV = 4 * 1024

export class PeerConnection implements MetadataRequestSink, WireSink {
  readonly id = nextId++
  /** See WireSink.gatherFrom: set by the stream's kind (bind()). */
  gatherFrom: number | undefined
  readonly info: ConnectionInfo
  /**
   * Built once the handshake is routed (or MSE is needed): until then a connection is a few
   * fields and at most 48 buffered bytes, so silent, dripping or misdirected connections cost
   * next to nothing. Private: it is bittorrent-protocol's class, not part of our API.
   */
  private wire: GuardedWire | undefined
  /** The wire came from the pool and goes back to it when this connection closes. */
  private pooled = false
  /** What summary() reads from the wire, kept once a pooled wire has gone back. */
  private peerIdSeen: string | undefined
  private clientSeen: string | undefined
  /** Bytes received before the wire exists (at most the 48 bytes that route a handshake, or one chunk). */
  private early: Uint8Array | undefined
  readonly createdAt: number
  lastActivity: number
  record: TorrentRecord | undefined
  /** This torrent's counters, looked up once per connection. */
  counters: TorrentCounters | undefined
  closed: CloseInfo | undefined
  /** The record a plaintext handshake was routed to, and the hash it named (reused at the handshake). */
  private routed: TorrentRecord | undefined
  private routedHash: string | undefined
  private stream: ByteStream
  private readonly session: PeerSession
  private ext: UtMetadataServer | undefined
  private readonly queue: number[] = []
  private serving = false
  /** Metadata pieces of this torrent (set at the handshake). */
  private pieces = 0
  /**
   * Which pieces were sent at least once: bits of a number for up to 31 pieces (every info
   * dict under 496 KiB, nearly all of them), a byte per piece beyond, so most connections
   * allocate nothing for it.
   */
  private sentMask = 0
  private sentPieces: Uint8Array | undefined
  private distinctSent = 0
  private totalSent = 0
  private handshaken = false
  /** Whether the peer has asked for a metadata piece we have (it is doing what leechers do). */
  private asked = false

  constructor (session: PeerSession, stream: ByteStream, info: ConnectionInfo, now: number) {
    this.session = session
    this.stream = stream
    this.info = info
    this.createdAt = now
    this.lastActivity = now
    this.bind()
  }

  get isHandshaken (): boolean { return this.handshaken }

  /** Whether a ut_metadata request is queued or being answered (not idle, for eviction). */
  get isBusy (): boolean { return this.serving || this.queue.length > 0 }

  summary (): PeerSummary {
    return {
      id: this.id,
      transport: this.info.transport,
      direction: this.info.direction,
      remoteAddress: this.info.remoteAddress,
      remotePort: this.info.remotePort,
      infoHash: this.record?.infoHash,
      peerId: this.wire ? this.wire.peerId ?? undefined : this.peerIdSeen,
      client: this.wire ? (typeof this.wire.peerExtendedHandshake?.v === 'string' ? this.wire.peerExtendedHandshake.v : undefined) : this.clientSeen
    }
  }

  private bind (): void {
    const { stream, session } = this
    const upload = session.uploadThrottle()
    const download = session.downloadThrottle()
    ;(stream as unknown as Record<symbol, PeerConnection>)[CONNECTION] = this
    stream.on('error', onStreamError)
    stream.on('end', onStreamEnd)
    stream.on('close', onStreamEnd)

    if (upload || download || typeof stream.write !== 'function') {
      // Rate limits sit between the stream and the wire as pipes: the wire is built now.
      const wire = this.buildWire(this.info.encryption === true && this.info.direction === 'incoming')
      wire.on('close', onWireClose)
      if (download) stream.pipe(download).pipe(wire)
      else stream.pipe(wire)
      if (upload) (wire as unknown as StreamxDuplex).pipe(upload).pipe(stream)
      else (wire as unknown as StreamxDuplex).pipe(stream)
      stream.on('data', onStreamActivity)
      this.startOutgoing()
      return
    }

    // The hot path: no stream pipes. Received chunks go straight into the Wire's parser, and
    // what the Wire sends within one tick leaves in one write (writeOut).
    if (typeof stream.writev === 'function') this.gatherFrom = GATHER_FROM_WRITEV
    stream.on('data', onStreamData)
    if (this.info.direction === 'outgoing') {
      this.buildWire(false, true).attachDirect(this)
      this.startOutgoing()
    }
  }

  touch (): void { this.lastActivity = this.session.now() }

  /** Direct mode, from the stream's `data` events. */
  onData (chunk: Uint8Array): void {
    if (this.closed) return
    this.lastActivity = this.session.now()
    if (this.wire) this.wire.feed(chunk)
    else this.beforeWire(chunk)
  }

  /**
   * Direct mode: what the wire sent this tick. A socket that stops draining stops our reading
   * too, so a peer that asks without reading cannot pile up replies.
   */
  writeOut (chunk: Uint8Array): void {
    if (this.stream.write!(chunk) === false) this.pauseUntilDrained()
  }

  /**
   * Direct mode, a large tick: its messages in one gathering write where the stream can cork
   * (a Node socket: one writev of views, the pieces never copied), else joined.
   */
  writeOutChunks (chunks: Uint8Array[], total: number): void {
    const { stream } = this
    if (stream.writev) {
      if (!stream.writev(chunks)) this.pauseUntilDrained()
      return
    }
    if (!stream.cork || !stream.uncork) return this.writeOut(joinChunks(chunks, total))
    stream.cork()
    let drained = true
    for (let i = 0; i < chunks.length; i++) drained = stream.write!(chunks[i]) !== false
    stream.uncork()
    if (!drained) this.pauseUntilDrained()
  }

  private pauseUntilDrained (): void {
    const { stream } = this
    if (!stream.pause || !stream.resume || !stream.once) return
    stream.pause()
    stream.once('drain', () => { if (!this.closed) stream.resume!() })
  }

  // ---- WireSink: what the wire reports (no listener or closure per connection) ----

  onOversized (length: number): void {
    this.close('message-too-large', 'read', `peer announced a ${length}-byte message (cap ${this.session.limits.maxMessageSize})`)
  }

  onPieceRequest (): void {
    if (this.counters) this.session.stats.add(this.counters, 'pieceRequestsRefused')
  }

  onWireEnd (): void {
    this.close(this.handshaken ? 'protocol-error' : 'not-bittorrent', this.handshaken ? 'wire' : 'handshake', 'the wire ended the connection')
  }

  /**
   * An incoming connection's first bytes, before any per-connection protocol object exists:
   * a plaintext handshake is checked and routed by its info hash here, so a peer that is not
   * speaking BitTorrent, or asks for a torrent we do not hold, is closed without ever costing
   * a Wire. Bytes that are not a plaintext handshake go to a Wire with MSE when encryption is
   * on (they may be a key exchange), else close the connection.
   */
  private beforeWire (chunk: Uint8Array): void {
    if (this.closed) return
    let bytes = chunk
    if (this.early) {
      bytes = new Uint8Array(this.early.length + chunk.length)
      bytes.set(this.early, 0)
      bytes.set(chunk, this.early.length)
    }
    const verdict = routeHandshake(bytes)
    if (verdict === 'more') { this.early = bytes; return }
    this.early = undefined
    const mayEncrypt = this.info.encryption === true
    if (verdict === 'not-plaintext') {
      if (!mayEncrypt) return this.close('not-bittorrent', 'handshake', 'the first bytes are not a BitTorrent handshake (and encryption is off)')
      this.buildWire(true).attachDirect(this)
    } else {
      const record = this.session.store.get(verdict)
      if (!record) return this.close('unknown-infohash', 'handshake', `no torrent with info hash ${verdict}`)
      const max = this.session.limits.maxMessageSize
      const oversized = firstOversizedFrame(bytes, max)
      if (oversized >= 0) return this.close('message-too-large', 'read', `peer announced a ${oversized}-byte message (cap ${max})`)
      this.routed = record
      this.routedHash = verdict
      this.buildWire(false, true).attachDirect(this)
    }
    this.wire!.feed(bytes)
  }

  /** @param direct the wire will be fed directly (attachDirect): a plaintext one comes from the pool. */
  private buildWire (encrypted: boolean, direct = false): GuardedWire {
    const { session } = this
    const type = this.info.direction === 'incoming' ? 'tcpIncoming' : 'tcpOutgoing'
    this.pooled = direct && !encrypted
    const wire = this.pooled ? wires.acquire(type) : new GuardedWire(type, encrypted ? 1 : 0, encrypted ? () => session.admitKeyExchange(this) : undefined)
    if (!this.pooled) setUpWire(wire)
    this.wire = wire
    // Faults, oversized lengths and piece requests come through `sink`; the base class's own
    // events through handlers shared by every connection (`this` is the wire).
    wire.sink = this
    wire.maxMessageSize = session.limits.maxMessageSize
    this.ext = (wire as unknown as { ut_metadata: UtMetadataServer }).ut_metadata
    this.ext.attach(this)
    if (encrypted) {
      wire.on('crypto-infohash', (obfuscated: string | Uint8Array) => {
        const infoHash = session.store.resolveObfuscated(typeof obfuscated === 'string' ? obfuscated : arr2hex(obfuscated))
        if (!infoHash) return this.close('unknown-infohash', 'encryption', 'encrypted handshake for a torrent we do not hold')
        wire.setInfoHash(infoHash)
      })
    }
    return wire
  }

  /** An outgoing connection speaks first: the handshake for the torrent it was dialed for. */
  private startOutgoing (): void {
    if (this.info.direction !== 'outgoing') return
    const record = this.info.infoHash ? this.session.store.get(this.info.infoHash) : undefined
    if (!record) {
      this.close('unknown-infohash', 'connect', `outgoing connection for ${this.info.infoHash ?? 'no'} info hash, which is not loaded`)
      return
    }
    this.record = record
    this.sendHandshake(record.infoHash)
  }

  /** @internal the wire's `handshake` event. */
  onHandshake (infoHash: string): void {
    if (this.closed || this.handshaken) return
    const { session } = this
    // The routed record is the same lookup, done a moment ago on the same bytes.
    const record = this.routedHash === infoHash && session.store.isCurrent(this.routed!) ? this.routed : session.store.get(infoHash)
    this.routed = undefined
    this.routedHash = undefined
    if (this.info.direction === 'outgoing' && (!record || record.infoHash !== this.record?.infoHash)) {
      return this.close('infohash-mismatch', 'handshake', `dialed for ${this.record?.infoHash}, peer answered ${infoHash}`)
    }
    if (!record) return this.close('unknown-infohash', 'handshake', `no torrent with info hash ${infoHash}`)
    if (record.private && !session.allowPrivate) {
      return this.close('private-torrent', 'handshake', `${infoHash} is private (BEP 27) and serving private torrents is off`)
    }
    this.record = record
    this.counters = session.stats.torrent(record.infoHash)
    this.handshaken = true
    this.pieces = Math.ceil(record.infoSize / METADATA_PIECE_SIZE)
    if (this.pieces > 31) this.sentPieces = new Uint8Array(this.pieces)
    // Echo the hash the peer used: a v2 peer of a hybrid torrent handshakes with the truncated v2 hash.
    if (this.info.direction === 'incoming') this.sendHandshake(infoHash)
    this.tellNoPieces()
    session.onPeerReady(this)
  }

  private sendHandshake (infoHash: string): void {
    const { session } = this
    const wire = this.wire!
    const record = this.record ?? session.store.get(infoHash)
    if (!record) return
    wire.extendedHandshake = extendedHandshakeFor(record.infoSize, session.listenPort) as Record<string, unknown>
    wire.handshake(infoHash, session.peerId, { dht: session.dht, fast: true })
  }

  /** BEP 6 have_none when both sides speak fast, else an all-zero bitfield of the right length. */
  private tellNoPieces (): void {
    const { wire, record } = this
    if (!record || !wire) return
    if (wire.hasFast) wire.haveNone()
    else wire.bitfield(new Uint8Array(Math.ceil(record.pieceCount / 8)))
  }

  onMetadataRequest (piece: number): void {
    const { record, session } = this
    if (!record || this.closed || !this.ext) return
    if (!this.ext.peerSupports) {
      return this.close('no-ut-metadata', 'extension', 'peer asked for metadata without giving a ut_metadata id we can send on (an integer 1-255)')
    }
    const pieces = this.pieces
    if (piece < 0 || piece >= pieces) {
      session.stats.add(this.counters!, 'metadataRejects')
      // BEP 9: the reject names the piece that was asked for, whatever it was.
      this.ext!.sendReject(piece)
      return
    }
    if (this.queue.length >= pieces + REQUEST_QUEUE_SLACK) {
      return this.close('request-flood', 'extension', `more than ${pieces + REQUEST_QUEUE_SLACK} metadata requests outstanding`)
    }
    if (!this.asked) { this.asked = true; session.onMetadataAsked(this) }
    this.queue.push(piece)
    if (!this.serving) this.serve()
  }

  onBadMessage (why: string): void {
    this.close('bad-extension-message', 'extension', why)
  }

  /** Sends queued pieces in order; synchronous when the info bytes are in memory. */
  private serve (): void {
    const { record, session } = this
    if (!record || this.closed) return
    this.serving = true
    while (this.queue.length > 0) {
      const info = session.store.info(record.infoHash)
      if (info instanceof Promise) {
        // Not under the Wire's fault net (a later tick): catch here, the same way.
        info.then(() => { try { this.serve() } catch (err) { this.onFault(err) } }, (err: Error) => {
          session.warn('ERR_METADATA_UNAVAILABLE', err.message, record)
          this.close('metadata-unavailable', 'read-info', err.message)
        })
        return
      }
      const piece = this.queue.shift()!
      if (this.totalSent >= this.pieces * MAX_METADATA_COPIES_PER_CONNECTION) {
        return this.close('metadata-overfetch', 'extension', `peer fetched the metadata ${MAX_METADATA_COPIES_PER_CONNECTION} times`)
      }
      const start = piece * METADATA_PIECE_SIZE
      const data = info.subarray(start, Math.min(start + METADATA_PIECE_SIZE, info.length))
      if (!this.ext!.sendPiece(piece, data, info.length)) {
        // A later extended handshake withdrew the id while the info bytes were being read.
        return this.close('no-ut-metadata', 'extension', 'peer withdrew its ut_metadata id')
      }
      this.totalSent += 1
      session.stats.add(this.counters!, 'metadataPiecesServed')
      session.stats.add(this.counters!, 'bytesServed', data.length)
      if (this.firstSend(piece)) {
        this.distinctSent += 1
        if (this.distinctSent === this.pieces) session.onMetadataServed(this)
      }
    }
    this.serving = false
  }

  /** Marks `piece` sent; true the first time. */
  private firstSend (piece: number): boolean {
    const sent = this.sentPieces
    if (sent === undefined) {
      const bit = 1 << piece
      if ((this.sentMask & bit) !== 0) return false
      this.sentMask |= bit
      return true
    }
    if (sent[piece] !== 0) return false
    sent[piece] = 1
    return true
  }

  /**
   * A throw from code that ran on this peer's input (ours or a library's send path): the
   * connection ends with the fault's reason, or `internal-error`, and the process goes on.
   */
  onFault (err: unknown): void {
    const message = err instanceof Error ? err.message : String(err)
    const { reason, op } = err as { reason?: unknown, op?: unknown }
    if (typeof reason === 'string' && typeof op === 'string') return this.close(reason, op, message)
    this.close('internal-error', 'wire', message)
  }

  /** Ends the connection once; the first reason wins. Safe to call any number of times. */
  close (reason: string, op: string, message?: string): void {
    if (this.closed) return
    this.closed = message ? { reason, op, message } : { reason, op }
    this.queue.length = 0
    this.early = undefined
    this.routed = undefined
    try { this.wire?.destroy() } catch { /* already gone */ }
    const stream = this.stream
    try { stream.destroy() } catch { /* already gone */ }
    this.session.onPeerClosed(this)
    // The connection and its stream let go of each other. Either may be in V8's old generation
    // by now (it pretenures objects made once per connection, which live through a scavenge or
    // two), and a dead old object keeps every young object it points at alive through each
    // scavenge until the next full GC: a socket kept the PeerConnection and its record, hash
    // strings and close record, a PeerConnection the socket's whole state, promoted for nothing.
    ;(stream as unknown as Record<symbol, PeerConnection | undefined>)[CONNECTION] = undefined
    this.stream = DETACHED
    const wire = this.wire
    if (this.pooled && wire) {
      // Nothing of this connection may reach the wire once it serves another one.
      this.peerIdSeen = wire.peerId ?? undefined
      const v = wire.peerExtendedHandshake?.v
      this.clientSeen = typeof v === 'string' ? v : undefined
      this.wire = undefined
      this.ext = undefined
      wires.release(wire)
    }
  }
}
