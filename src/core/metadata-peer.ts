/**
 * The metadata-only peer: holds torrents, accepts connections from any transport, answers
 * ut_metadata requests, and never requests, stores or uploads pieces. Isomorphic: transports
 * hand it duplex streams; it never touches sockets or files.
 */
import { EventEmitter } from 'events'
import { randomBytes, text2arr } from 'uint8-util'
import {
  DEFAULT_CONNECTION_LIMIT, DEFAULT_PER_IP_LIMIT, HANDSHAKE_TIMEOUT_MS, IDLE_TIMEOUT_MS,
  MAX_MESSAGE_SIZE, PEER_ID_PREFIX
} from './constants.ts'
import { ClosedError, InvalidOptionError, TorrentFishError } from './errors.ts'
import { PeerConnection, type ByteStream, type CloseInfo, type ConnectionInfo, type PeerSummary } from './peer-connection.ts'
import type { PeerSession, SessionLimits } from './peer-session.ts'
import { Stats, type StatsSnapshot, type TorrentCounters } from './stats.ts'
import { parseTorrent, type ParsedTorrent, type TorrentRecord } from './torrent.ts'
import { TorrentStore, type TorrentStoreOptions } from './torrent-store.ts'
import { Throttle, TokenBucket } from './rate-limit.ts'
import { Admission, type EvictionKind } from './admission.ts'
import { ADMISSION_DEFAULTS, type AdmissionOptions } from './admission-options.ts'
import { PeerFault } from './peer-fault.ts'
import { installBencodeGuard } from './bencode-guard.ts'

export interface MetadataPeerOptions {
  /** 20-byte peer id (bytes or 40 hex chars); default `-TF0100-` + random. */
  peerId?: Uint8Array | string
  /** Serve private (BEP 27) torrents; off by default since their trackers expect only members. */
  allowPrivate?: boolean
  /** Open connections at most (default 800, the original's `--connections_limit`). */
  connectionLimit?: number
  /** Open connections per remote IP at most (default 256; never 1, see constants). */
  perIpLimit?: number
  handshakeTimeoutMs?: number
  idleTimeoutMs?: number
  maxMessageSize?: number
  /** Bytes per second we send, 0 = unlimited. */
  uploadRateLimit?: number
  /** Bytes per second we read, 0 = unlimited. */
  downloadRateLimit?: number
  /** How info bytes are held: a reader for on-demand loading and the cache budget. */
  store?: TorrentStoreOptions
  /** Set the DHT bit in handshakes (only when a DHT node runs). */
  dht?: boolean
  /** Our listening port, sent as `p` in the extended handshake. */
  listenPort?: number
  /** Admission under pressure (eviction, half-open caps, MSE budget); see ADMISSION_DEFAULTS. */
  admission?: Partial<Omit<AdmissionOptions, 'connectionLimit' | 'perIpLimit' | 'handshakeTimeoutMs'>>
}

export interface AddTorrentOptions {
  /** A label for logs and errors, e.g. the file path. */
  source?: string
  /** Keep the .torrent bytes in memory (default unless a reader is configured). */
  pin?: boolean
  /** Replace a torrent loaded under the same info hash. */
  replace?: boolean
}

/** A non-fatal problem: a bad torrent, a misbehaving peer, an unreachable tracker. */
export interface Warning {
  code: string
  message: string
  infoHash?: string
  source?: string
}

export interface PeerClosedEvent extends PeerSummary, CloseInfo {}

export interface MetadataServedEvent {
  infoHash: string
  /** The torrent's name, as its info dictionary gives it. */
  name: string
  peer: PeerSummary
}

export interface MetadataPeerEvents {
  'peer': [PeerSummary]
  'peer-close': [PeerClosedEvent]
  'metadata-served': [MetadataServedEvent]
  'torrent-added': [TorrentRecord]
  /** A torrent was replaced under the same info hash (its file rewritten): its peers stay connected, its counters kept. */
  'torrent-updated': [record: TorrentRecord, previous: TorrentRecord]
  'torrent-removed': [TorrentRecord]
  'warning': [Warning]
  'close': []
}

const EVICTION_MESSAGES: Record<EvictionKind, string> = {
  'half-open': 'connection still handshaking replaced by a newcomer (oldest half-open first)',
  unproductive: 'handshaken connection with nothing to ask (no metadata request yet, or all of it served) replaced by a newcomer at the connection limit',
  idle: 'idle connection replaced by a newcomer at the connection limit'
}

function positiveInt (name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new InvalidOptionError(name, `must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`)
  }
  return value
}

function shareOf (name: string, value: number): number {
  if (!(typeof value === 'number' && value > 0 && value <= 1)) throw new InvalidOptionError(name, `must be a share in (0, 1], got ${String(value)}`)
  return value
}

function makePeerId (given: Uint8Array | string | undefined): Uint8Array {
  if (given === undefined) {
    const id = new Uint8Array(20)
    id.set(text2arr(PEER_ID_PREFIX), 0)
    id.set(randomBytes(12), 8)
    return id
  }
  const bytes = typeof given === 'string' ? (/^[0-9a-f]{40}$/i.test(given) ? Uint8Array.from(given.match(/../g)!, h => parseInt(h, 16)) : text2arr(given)) : given
  if (bytes.length !== 20) throw new InvalidOptionError('peerId', 'must be exactly 20 bytes')
  return bytes
}

export class MetadataPeer extends EventEmitter<MetadataPeerEvents> implements PeerSession {
  readonly store: TorrentStore
  readonly stats = new Stats()
  readonly limits: SessionLimits
  readonly peerId: Uint8Array
  readonly allowPrivate: boolean
  dht: boolean
  listenPort: number | undefined
  private readonly admission: Admission<PeerConnection>
  private readonly upBucket: TokenBucket | null
  private readonly downBucket: TokenBucket | null
  private sweeper: ReturnType<typeof setInterval> | null = null
  private closedFlag = false

  constructor (options: MetadataPeerOptions = {}) {
    super()
    // Before any remote byte is decoded: the bencode library loops forever on `-3:` otherwise.
    installBencodeGuard()
    this.limits = {
      handshakeTimeoutMs: positiveInt('handshakeTimeoutMs', options.handshakeTimeoutMs, HANDSHAKE_TIMEOUT_MS),
      idleTimeoutMs: positiveInt('idleTimeoutMs', options.idleTimeoutMs, IDLE_TIMEOUT_MS),
      maxMessageSize: positiveInt('maxMessageSize', options.maxMessageSize, MAX_MESSAGE_SIZE),
      connectionLimit: positiveInt('connectionLimit', options.connectionLimit, DEFAULT_CONNECTION_LIMIT),
      perIpLimit: positiveInt('perIpLimit', options.perIpLimit, DEFAULT_PER_IP_LIMIT)
    }
    const a = { ...ADMISSION_DEFAULTS, ...options.admission }
    this.admission = new Admission<PeerConnection>({
      connectionLimit: this.limits.connectionLimit,
      perIpLimit: this.limits.perIpLimit,
      handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
      pressureHandshakeTimeoutMs: positiveInt('admission.pressureHandshakeTimeoutMs', a.pressureHandshakeTimeoutMs, 0),
      halfOpenPerIp: positiveInt('admission.halfOpenPerIp', a.halfOpenPerIp, 0),
      halfOpenPerSubnet: positiveInt('admission.halfOpenPerSubnet', a.halfOpenPerSubnet, 0),
      utpHalfOpenShare: shareOf('admission.utpHalfOpenShare', a.utpHalfOpenShare),
      unproductivePerSubnetPerSecond: positiveInt('admission.unproductivePerSubnetPerSecond', a.unproductivePerSubnetPerSecond, 0),
      evictIdleAfterMs: positiveInt('admission.evictIdleAfterMs', a.evictIdleAfterMs, 0),
      keyExchangesPerSecond: positiveInt('admission.keyExchangesPerSecond', a.keyExchangesPerSecond, 0),
      keyExchangesPerSubnetPerSecond: positiveInt('admission.keyExchangesPerSubnetPerSecond', a.keyExchangesPerSubnetPerSecond, 0),
      idlePerNewSubnet: positiveInt('admission.idlePerNewSubnet', a.idlePerNewSubnet, 0),
      faultsPerSubnetPerSecond: positiveInt('admission.faultsPerSubnetPerSecond', a.faultsPerSubnetPerSecond, 0)
    }, () => this.now())
    const up = positiveInt('uploadRateLimit', options.uploadRateLimit, 0, true)
    const down = positiveInt('downloadRateLimit', options.downloadRateLimit, 0, true)
    this.upBucket = up > 0 ? new TokenBucket(up) : null
    this.downBucket = down > 0 ? new TokenBucket(down) : null
    this.peerId = makePeerId(options.peerId)
    this.allowPrivate = options.allowPrivate === true
    this.dht = options.dht === true
    this.listenPort = options.listenPort
    this.store = new TorrentStore(options.store)
    this.store.on('added', record => this.emit('torrent-added', record))
    this.store.on('updated', (record, previous) => this.emit('torrent-updated', record, previous))
    this.store.on('removed', record => this.onTorrentRemoved(record))
  }

  get closed (): boolean { return this.closedFlag }

  /** Whether an upload or download rate limit is set (its throttles sit between stream and wire as pipes). */
  get rateLimited (): boolean { return this.upBucket !== null || this.downBucket !== null }

  // ---- torrents ----

  /**
   * Adds a torrent from .torrent bytes or an already parsed torrent. Rejects with
   * InvalidTorrentError or DuplicateTorrentError naming the source; a private torrent
   * loads with a warning and is refused to peers unless `allowPrivate` is set.
   */
  async addTorrent (input: Uint8Array | ParsedTorrent, options: AddTorrentOptions = {}): Promise<TorrentRecord> {
    if (this.closedFlag) throw new ClosedError()
    const parsed = input instanceof Uint8Array ? await parseTorrent(input, options.source) : input
    const record = await this.store.add(parsed, { pin: options.pin, replace: options.replace })
    if (record.private && !this.allowPrivate) {
      this.warn('WARN_PRIVATE_TORRENT', `${record.name} (${record.infoHash}) is private (BEP 27): loaded but not served; allow private torrents to serve it`, record)
    }
    return record
  }

  /** Removes a torrent and closes its connections; returns false if it was not loaded. */
  removeTorrent (infoHash: string): boolean {
    return this.store.remove(infoHash) !== undefined
  }

  getTorrent (infoHash: string): TorrentRecord | undefined {
    return this.store.get(infoHash)
  }

  /** Every loaded torrent. */
  torrents (): TorrentRecord[] {
    return [...this.store.records()]
  }

  torrentStats (infoHash: string): TorrentCounters {
    return this.stats.peekTorrent(infoHash.toLowerCase())
  }

  /** Totals, per transport counters and closes by reason. */
  getStats (): StatsSnapshot {
    return this.stats.snapshot(this.store.size)
  }

  peers (): PeerSummary[] {
    return [...this.admission.connections()].map(c => c.summary())
  }

  private onTorrentRemoved (record: TorrentRecord): void {
    for (const conn of [...this.admission.connections()]) {
      if (conn.record?.infoHash === record.infoHash) conn.close('torrent-removed', 'store', `${record.infoHash} was removed`)
    }
    this.stats.forget(record.infoHash)
    this.emit('torrent-removed', record)
  }

  // ---- connections ----

  /**
   * Runs the metadata session over a duplex byte stream from any transport. The connection
   * may be closed at once (limits, shutdown); listen for `peer-close` for the reason.
   */
  handleConnection (stream: ByteStream, info: ConnectionInfo): PeerConnection {
    const conn = new PeerConnection(this, stream, info, this.now())
    if (conn.closed) return conn
    if (this.closedFlag) {
      conn.close('shutdown', 'accept', 'torrent-fish is closing')
      return conn
    }
    const verdict = this.admission.admit(conn)
    if (!verdict.admit) {
      conn.close(verdict.reason, 'accept', verdict.message)
      return conn
    }
    for (const victim of verdict.evict) victim.close('evicted', 'accept', EVICTION_MESSAGES[this.admission.kindOf(victim)])
    this.admission.add(conn)
    this.stats.transport(info.transport).connections += 1
    this.stats.transport(info.transport).peers += 1
    this.startSweeper()
    return conn
  }

  /**
   * Asked by a transport before it builds anything for an incoming connection (the TCP
   * listener asks with the accepted handle's address, before Node makes a socket of it):
   * the close, counted under its reason, when admission would refuse the connection now;
   * null to go on with handleConnection(). A `peer-close` for it has id 0 (no connection
   * object ever existed).
   * @internal
   */
  refuseEarly (info: ConnectionInfo): CloseInfo | null {
    const refusal = this.closedFlag ? { reason: 'shutdown', message: 'torrent-fish is closing' } : this.admission.wouldRefuse(info.transport, info.remoteAddress)
    if (!refusal) return null
    const close: CloseInfo = { reason: refusal.reason, op: 'accept', message: refusal.message }
    this.stats.close(info.transport, close.reason)
    if (this.listenerCount('peer-close') > 0) {
      this.emit('peer-close', { id: 0, transport: info.transport, direction: info.direction, remoteAddress: info.remoteAddress, remotePort: info.remotePort, infoHash: undefined, peerId: undefined, client: undefined, ...close })
    }
    return close
  }

  /**
   * Whether `remoteAddress`'s network was served everything here before: the TCP listener
   * builds such newcomers first when connections queue up (see tcp-accept-gate.ts).
   * @internal
   */
  servedNetwork (remoteAddress: string): boolean {
    return this.admission.servedNetwork(remoteAddress)
  }

  /**
   * Whether a uTP newcomer would get a slot without displacing another uTP connection that is
   * still handshaking. False while a SYN flood holds the uTP share: the uTP transport then stops
   * accepting SYNs (each one costs a native connection and a 128 KiB read buffer, and answers a
   * possibly spoofed address) until a slot frees.
   */
  acceptsUtpNewcomers (): boolean {
    return !this.closedFlag && !this.admission.utpHalfOpenFull
  }

  // ---- PeerSession ----

  now (): number { return Date.now() }

  uploadThrottle (): Throttle | null { return this.upBucket ? new Throttle(this.upBucket) : null }
  downloadThrottle (): Throttle | null { return this.downBucket ? new Throttle(this.downBucket) : null }

  onPeerReady (conn: PeerConnection): void {
    this.admission.handshaken(conn)
    this.stats.add(conn.counters!, 'peers')
    this.stats.add(conn.counters!, 'connections')
    // Summaries are built only for listeners: at thousands of exchanges a second they add up.
    if (this.listenerCount('peer') > 0) this.emit('peer', conn.summary())
  }

  onMetadataAsked (conn: PeerConnection): void {
    this.admission.asked(conn)
  }

  onMetadataServed (conn: PeerConnection): void {
    this.admission.satisfied(conn)
    this.stats.add(conn.counters!, 'metadataServed')
    this.stats.transport(conn.info.transport).metadataServed += 1
    if (this.listenerCount('metadata-served') > 0) this.emit('metadata-served', { infoHash: conn.record!.infoHash, name: conn.record!.name, peer: conn.summary() })
  }

  onPeerClosed (conn: PeerConnection): void {
    const close = conn.closed!
    this.stats.close(conn.info.transport, close.reason)
    const size = this.admission.size
    this.admission.remove(conn)
    if (this.admission.size < size) {
      this.stats.transport(conn.info.transport).peers -= 1
      if (conn.isHandshaken && conn.counters) this.stats.add(conn.counters, 'peers', -1)
    }
    if (this.admission.size === 0) this.stopSweeper()
    if (this.listenerCount('peer-close') > 0) this.emit('peer-close', Object.assign(conn.summary(), close))
  }

  admitKeyExchange (conn: PeerConnection): void {
    const refusal = this.admission.admitKeyExchange(conn.info.remoteAddress)
    if (refusal) throw new PeerFault(refusal.reason, 'encryption', refusal.message)
  }

  /** Emits a warning on a microtask, so listeners attached right after a call still see it. */
  warn (code: string, message: string, record?: TorrentRecord): void {
    const warning: Warning = { code, message, ...(record ? { infoHash: record.infoHash, source: record.source } : {}) }
    queueMicrotask(() => this.emit('warning', warning))
  }

  /** Warns about an error raised outside the peer (a bad file, a failed transport). */
  warnError (err: unknown, source?: string): void {
    const code = err instanceof TorrentFishError ? err.code : 'ERR_UNEXPECTED'
    const message = err instanceof Error ? err.message : String(err)
    queueMicrotask(() => this.emit('warning', { code, message, ...(source ? { source } : {}) }))
  }

  // One timer for every connection's handshake and idle deadlines, instead of two per peer.
  private startSweeper (): void {
    if (this.sweeper) return
    const shortest = Math.min(this.limits.handshakeTimeoutMs, this.limits.idleTimeoutMs, this.admission.options.pressureHandshakeTimeoutMs)
    const every = Math.max(10, Math.min(1000, Math.floor(shortest / 4)))
    this.sweeper = setInterval(() => this.sweep(), every)
    const t = this.sweeper as unknown as { unref?: () => void }
    t.unref?.()
  }

  private stopSweeper (): void {
    if (this.sweeper) clearInterval(this.sweeper)
    this.sweeper = null
  }

  private sweep (): void {
    const now = this.now()
    const deadline = this.admission.handshakeDeadlineMs()
    for (const conn of [...this.admission.expiredHalfOpen()]) {
      conn.close('handshake-timeout', 'handshake', `no handshake within ${deadline} ms${deadline < this.limits.handshakeTimeoutMs ? ' (shortened: the connection table is half full)' : ''}`)
    }
    for (const conn of [...this.admission.connections()]) {
      if (now - conn.lastActivity > this.limits.idleTimeoutMs) {
        conn.close('idle-timeout', 'read', `nothing received for ${this.limits.idleTimeoutMs} ms`)
      }
    }
  }

  /** Closes every connection with reason `shutdown` and stops timers. Safe to call twice. */
  async close (): Promise<void> {
    if (this.closedFlag) return
    this.closedFlag = true
    for (const conn of [...this.admission.connections()]) conn.close('shutdown', 'shutdown', 'torrent-fish is closing')
    this.stopSweeper()
    this.emit('close')
  }
}

