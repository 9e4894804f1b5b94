/**
 * One peer connection, whatever carries it: stream <-> Wire, the handshake rules of a
 * metadata-only peer, the ut_metadata request queue, and one close path that always
 * records `{reason, op}`.
 */
import type { Duplex as StreamxDuplex } from 'streamx'
import { arr2hex } from 'uint8-util'
import { GuardedWire } from './wire.ts'
import { UtMetadataServer, type MetadataRequestSink } from './ut-metadata-server.ts'
import { METADATA_PIECE_SIZE, REQUEST_QUEUE_SLACK, MAX_METADATA_COPIES_PER_CONNECTION, CLIENT_NAME } from './constants.ts'
import type { TorrentRecord } from './torrent.ts'
import type { PeerSession } from './peer-session.ts'

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

export class PeerConnection implements MetadataRequestSink {
  readonly id = nextId++
  readonly info: ConnectionInfo
  readonly wire: GuardedWire
  readonly createdAt: number
  lastActivity: number
  record: TorrentRecord | undefined
  closed: CloseInfo | undefined
  private readonly stream: ByteStream
  private readonly session: PeerSession
  private readonly ext: UtMetadataServer
  private readonly queue: number[] = []
  private serving = false
  private sentPieces: Uint8Array | undefined
  private distinctSent = 0
  private totalSent = 0
  private handshaken = false

  constructor (session: PeerSession, stream: ByteStream, info: ConnectionInfo, now: number) {
    this.session = session
    this.stream = stream
    this.info = info
    this.createdAt = now
    this.lastActivity = now
    const encrypted = info.encryption === true && info.direction === 'incoming'
    this.wire = new GuardedWire(info.direction === 'incoming' ? 'tcpIncoming' : 'tcpOutgoing', encrypted ? 1 : 0,
      () => session.admitKeyExchange(this))
    this.wire.maxMessageSize = session.limits.maxMessageSize
    this.wire.use(UtMetadataServer)
    this.ext = (this.wire as unknown as { ut_metadata: UtMetadataServer }).ut_metadata
    this.ext.attach(this)
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
      peerId: this.wire.peerId ?? undefined,
      client: typeof this.wire.peerExtendedHandshake?.v === 'string' ? this.wire.peerExtendedHandshake.v : undefined
    }
  }

  private bind (): void {
    const { stream, wire, session } = this
    const upload = session.uploadThrottle()
    const download = session.downloadThrottle()
    if (!upload && !download && typeof stream.write === 'function') {
      // The hot path: no stream pipes. Received chunks go straight into the Wire's parser, and
      // what the Wire sends within one tick leaves in one write. A socket that stops draining
      // stops our reading too, so a peer that asks without reading cannot pile up replies.
      const write = stream.write.bind(stream)
      wire.attachDirect(chunk => {
        if (write(chunk) === false && stream.pause && stream.resume && stream.once) {
          stream.pause()
          stream.once('drain', () => { if (!this.closed) stream.resume!() })
        }
      })
      stream.on('data', (chunk: Uint8Array) => {
        this.lastActivity = session.now()
        wire.feed(chunk)
      })
    } else {
      if (download) stream.pipe(download).pipe(wire)
      else stream.pipe(wire)
      if (upload) (wire as unknown as StreamxDuplex).pipe(upload).pipe(stream)
      else (wire as unknown as StreamxDuplex).pipe(stream)
      stream.on('data', () => { this.lastActivity = session.now() })
    }

    stream.on('error', (err: Error) => this.close('stream-error', 'read', err.message))
    stream.on('end', () => this.close('remote-closed', 'read'))
    stream.on('close', () => this.close('remote-closed', 'read'))
    wire.on('error', (err: Error) => this.close('protocol-error', 'wire', err.message))
    // A throw from anything that ran on this peer's bytes (see GuardedWire._write).
    wire.on('fault', (err: unknown) => this.onFault(err))
    wire.on('close', () => this.close(this.handshaken ? 'protocol-error' : 'not-bittorrent', this.handshaken ? 'wire' : 'handshake', 'the wire ended the connection'))
    wire.on('oversized', (length: number) =>
      this.close('message-too-large', 'read', `peer announced a ${length}-byte message (cap ${wire.maxMessageSize})`))
    wire.on('piece-request', () => {
      if (this.record) session.stats.count(this.record.infoHash, 'pieceRequestsRefused')
    })
    wire.on('crypto-infohash', (obfuscated: string | Uint8Array) => {
      const infoHash = session.store.resolveObfuscated(typeof obfuscated === 'string' ? obfuscated : arr2hex(obfuscated))
      if (!infoHash) return this.close('unknown-infohash', 'encryption', 'encrypted handshake for a torrent we do not hold')
      wire.setInfoHash(infoHash)
    })
    wire.once('handshake', (infoHash: string) => this.onHandshake(infoHash))

    if (this.info.direction === 'outgoing') {
      const record = this.info.infoHash ? session.store.get(this.info.infoHash) : undefined
      if (!record) {
        this.close('unknown-infohash', 'connect', `outgoing connection for ${this.info.infoHash ?? 'no'} info hash, which is not loaded`)
        return
      }
      this.record = record
      this.sendHandshake(record.infoHash)
    }
  }

  private onHandshake (infoHash: string): void {
    if (this.closed) return
    const { session } = this
    const record = session.store.get(infoHash)
    if (this.info.direction === 'outgoing' && (!record || record.infoHash !== this.record?.infoHash)) {
      return this.close('infohash-mismatch', 'handshake', `dialed for ${this.record?.infoHash}, peer answered ${infoHash}`)
    }
    if (!record) return this.close('unknown-infohash', 'handshake', `no torrent with info hash ${infoHash}`)
    if (record.private && !session.allowPrivate) {
      return this.close('private-torrent', 'handshake', `${infoHash} is private (BEP 27) and serving private torrents is off`)
    }
    this.record = record
    this.handshaken = true
    this.sentPieces = new Uint8Array(Math.ceil(record.infoSize / METADATA_PIECE_SIZE))
    // Echo the hash the peer used: a v2 peer of a hybrid torrent handshakes with the truncated v2 hash.
    if (this.info.direction === 'incoming') this.sendHandshake(infoHash)
    this.tellNoPieces()
    session.onPeerReady(this)
  }

  private sendHandshake (infoHash: string): void {
    const { wire, session } = this
    const record = this.record ?? session.store.get(infoHash)
    if (!record) return
    wire.extendedHandshake = {
      v: CLIENT_NAME,
      metadata_size: record.infoSize,
      ...(session.listenPort ? { p: session.listenPort } : {})
    }
    wire.handshake(infoHash, session.peerId, { dht: session.dht, fast: true })
  }

  /** BEP 6 have_none when both sides speak fast, else an all-zero bitfield of the right length. */
  private tellNoPieces (): void {
    const { wire, record } = this
    if (!record) return
    if (wire.hasFast) wire.haveNone()
    else wire.bitfield(new Uint8Array(Math.ceil(record.pieceCount / 8)))
  }

  onMetadataRequest (piece: number): void {
    const { record, session } = this
    if (!record || this.closed) return
    if (!this.ext.peerSupports) {
      return this.close('no-ut-metadata', 'extension', 'peer asked for metadata without giving a ut_metadata id we can send on (an integer 1-255)')
    }
    const pieces = this.sentPieces!.length
    if (piece < 0 || piece >= pieces) {
      session.stats.count(record.infoHash, 'metadataRejects')
      // BEP 9: the reject names the piece that was asked for, whatever it was.
      this.ext.sendReject(piece)
      return
    }
    if (this.queue.length >= pieces + REQUEST_QUEUE_SLACK) {
      return this.close('request-flood', 'extension', `more than ${pieces + REQUEST_QUEUE_SLACK} metadata requests outstanding`)
    }
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
      if (this.totalSent >= this.sentPieces!.length * MAX_METADATA_COPIES_PER_CONNECTION) {
        return this.close('metadata-overfetch', 'extension', `peer fetched the metadata ${MAX_METADATA_COPIES_PER_CONNECTION} times`)
      }
      const start = piece * METADATA_PIECE_SIZE
      const data = info.subarray(start, Math.min(start + METADATA_PIECE_SIZE, info.length))
      if (!this.ext.sendPiece(piece, data, info.length)) {
        // A later extended handshake withdrew the id while the info bytes were being read.
        return this.close('no-ut-metadata', 'extension', 'peer withdrew its ut_metadata id')
      }
      this.totalSent += 1
      session.stats.count(record.infoHash, 'metadataPiecesServed')
      session.stats.count(record.infoHash, 'bytesServed', data.length)
      if (this.sentPieces![piece] === 0) {
        this.sentPieces![piece] = 1
        this.distinctSent += 1
        if (this.distinctSent === this.sentPieces!.length) session.onMetadataServed(this)
      }
    }
    this.serving = false
  }

  /**
   * A throw from code that ran on this peer's input (ours or a library's send path): the
   * connection ends with the fault's reason, or `internal-error`, and the process goes on.
   */
  private onFault (err: unknown): void {
    const message = err instanceof Error ? err.message : String(err)
    const { reason, op } = err as { reason?: unknown, op?: unknown }
    if (typeof reason === 'string' && typeof op === 'string') return this.close(reason, op, message)
    this.close('internal-error', 'wire', message)
  }

  /** Ends the connection once; the first reason wins. Safe to call any number of times. */
  close (reason: string, op: string, message?: string): void {
    if (this.closed) return
    this.closed = { reason, op, ...(message ? { message } : {}) }
    this.queue.length = 0
    try { this.wire.destroy() } catch { /* already gone */ }
    try { this.stream.destroy() } catch { /* already gone */ }
    this.session.onPeerClosed(this)
  }
}
