/**
 * The Node service: it *has* a metadata session (the core's MetadataPeer, the one source of
 * torrent and peer events) and an ordered list of parts, each with a small lifecycle, started
 * in order and closed in reverse by this one owner:
 *
 *   directory scan (or sources) -> tcp -> utp -> webrtc answer pool -> discovery
 *   -> announce coverage -> web seed checker -> http face -> directory watch
 *
 * Every part gets what it needs at construction (resolved options and narrow interfaces), never
 * this object. `createTorrentFish()` is what the CLI runs and what Node services import.
 */
import { TorrentFishError } from '../core/errors.ts'
import { readFile } from 'node:fs/promises'
import { hash as oneShotHash } from 'node:crypto'
import path from 'node:path'
import { setSyncDigest } from '../core/digest.ts'
import { MetadataPeer, type MetadataPeerOptions, type AddTorrentOptions, type MetadataPeerEvents } from '../core/metadata-peer.ts'
import type { ByteStream, ConnectionInfo, PeerConnection, PeerSummary } from '../core/peer-connection.ts'
import type { TorrentRecord, ParsedTorrent } from '../core/torrent.ts'
import type { StatsSnapshot, TorrentCounters } from '../core/stats.ts'
import type { TorrentStore } from '../core/torrent-store.ts'
import { TcpTransport } from '../transport/tcp-transport.ts'
import { UtpTransport } from '../transport/utp-transport.ts'
import { dialPolicy } from '../transport/dial-policy.ts'
import { WebRtcAnswerPool } from '../transport/webrtc-answer-pool.ts'
import type { Transport } from '../transport/transport.ts'
import { Parts, type ListeningAddress, type Part } from '../util/parts.ts'
import { DirectoryLoader, type ScanResult } from './directory-loader.ts'
import { loadCacheFile } from './load-cache.ts'
import { loadNodeWebRtc, type NodeWebRtcOptions } from './webrtc-hybrid.ts'
import { resolveServiceOptions, type TorrentFishOptions } from './service-options.ts'
import { holdStartupWarnings } from './startup-warnings.ts'
import type { Discovery } from '../discovery/discovery.ts'
import type { HttpFace } from '../http/server.ts'
import type { WebSeedHealth } from './web-seed-health.ts'
import type { WebRtcView } from '../transport/webrtc-view.ts'
import type { DiscoveryView, WebSeedChecks } from './service-views.ts'
import type { SourcesPart, CoveragePart } from '../sources/attach.ts'
import type { SourceSet } from '../sources/source-set.ts'
import type { CoveragePlanner } from '../sources/coverage.ts'

export type { TorrentFishOptions } from './service-options.ts'

// Node's one-shot hash is synchronous and far cheaper than a Hash object per torrent.
setSyncDigest((algorithm, data) => oneShotHash(algorithm === 'sha-1' ? 'sha1' : 'sha256', data, 'hex'))

/** A transport that is accepting connections, for status and health reports. */
export type ListeningTransport = ListeningAddress

type Listener<K extends keyof MetadataPeerEvents> = (...args: MetadataPeerEvents[K]) => void

/** A part made from a start and a close function. */
function part (name: string, start: () => Promise<void> | void, close: () => Promise<void> | void, listening?: () => ListeningAddress[], status?: () => unknown): Part {
  return { name, start, close, ...(listening ? { listening } : {}), ...(status ? { status } : {}) }
}

/**
 * The Node service: a metadata session plus TCP, uTP, WebRTC, discovery, the HTTP face, web
 * seed checks and directory loading, as configured. Events are the session's
 * (MetadataPeerEvents). Prefer `createTorrentFish()`, which also starts it.
 */
export class TorrentFish {
  /**
   * The metadata session: torrents, connections, counters; the one source of their events.
   * @internal the service's own API below is the public one (docs/api.md)
   */
  readonly session: MetadataPeer
  /** The options as given (resolved copies go to each part). */
  readonly options: Readonly<TorrentFishOptions>
  private readonly parts: Parts
  private readonly tcp: TcpTransport
  private readonly utpTransport: UtpTransport | null
  private readonly pool: WebRtcAnswerPool | null
  private loaderPart: DirectoryLoader | null = null
  private scan: ScanResult | null = null
  private discoveryPart: Discovery | null = null
  private httpPart: HttpFace | null = null
  private healthPart: WebSeedHealth | null = null
  private sourcesPart: SourcesPart | null = null
  private coveragePart: CoveragePart | null = null
  private readonly extra: Array<{ close: () => Promise<void> | void, listening?: () => ListeningAddress[] }> = []
  private closing: Promise<void> | null = null

  constructor (options: TorrentFishOptions = {}) {
    const resolved = resolveServiceOptions(options)
    this.options = options
    const sessionOptions: MetadataPeerOptions = {
      ...resolved.session,
      // The handshake identity is fixed here, before any connection: the DHT bit says whether
      // we mean to run a DHT node; the port is set once TCP has bound, before uTP or WebRTC start.
      dht: resolved.session.dht ?? (resolved.listen && resolved.discovery !== false && resolved.discovery.dht === true),
      store: {
        // Torrents from files are re-read on demand, so only asked-for info dicts stay in memory.
        reader: async (record: TorrentRecord) => {
          if (!record.source) throw new TorrentFishError('ERR_NO_SOURCE', `${record.infoHash} has no file to read from`)
          return new Uint8Array(await readFile(record.source))
        },
        ...resolved.session.store
      }
    }
    const session = this.session = new MetadataPeer(sessionOptions)
    this.parts = new Parts((err, p) => session.warnError(err, `shutdown of ${p.name}`))

    if (resolved.sources) {
      const sourcesOptions = resolved.sources
      const stateDir = resolved.discovery === false ? undefined : resolved.discovery.stateDir
      // Several -l, or any URL: one part applies every source, in place of the directory scan.
      this.parts.add(part('sources', async () => {
        const { sourcesPart } = await import('../sources/attach.ts')
        const p = this.sourcesPart = sourcesPart(session, sourcesOptions, stateDir)
        await p.start()
      }, () => this.sourcesPart?.close(), undefined, () => this.sourcesPart?.status?.() ?? null))
    } else if (resolved.loadPath) {
      // Unchanged files load from the state directory's load cache without being read.
      const stateDir = resolved.discovery === false ? undefined : resolved.discovery.stateDir
      const loader = this.loaderPart = new DirectoryLoader(session, resolved.loadPath, stateDir ? { cacheFile: loadCacheFile(stateDir, resolved.loadPath) } : {})
      this.parts.add(part('directory-scan', async () => {
        this.scan = await loader.scan()
        session.store.trim() // the packed index gives back its growth slack once the scan is in
      }, () => {}))
    }
    // Always there for dials; it listens unless `listen: false`.
    this.tcp = this.parts.add(new TcpTransport(session, { port: resolved.port, host: resolved.listenInterface, outgoingInterface: resolved.outgoingInterface, proxy: resolved.proxy, listen: resolved.listen }))
    if (resolved.listen) {
      const tcp = this.tcp
      // Fixed once, right after TCP binds and before any other transport starts.
      this.parts.add(part('identity', () => { session.listenPort = tcp.port }, () => {}))
    }
    this.utpTransport = resolved.listen && resolved.utp ? this.parts.add(new UtpTransport(session, { port: () => this.tcp.port, host: resolved.listenInterface })) : null
    this.pool = resolved.webrtc ? this.parts.add(this.makePool(resolved.webrtc)) : null
    if (resolved.listen && resolved.discovery !== false) {
      const discoveryOptions = resolved.discovery
      this.parts.add(part('discovery', async () => {
        // Loaded on use: a process that runs no discovery carries none of its libraries.
        const { Discovery } = await import('../discovery/discovery.ts')
        const transports = [this.tcp, this.utpTransport].filter((t): t is TcpTransport | UtpTransport => t !== null)
        this.discoveryPart = new Discovery({
          session,
          dial: dialPolicy(() => transports as Transport[], { proxied: resolved.proxy !== undefined }),
          port: () => this.port,
          listenInterface: resolved.listenInterface,
          udpSocket: () => this.utpTransport?.udpSocket() ?? null,
          signaling: this.pool
        }, { ...discoveryOptions, extraTrackers: [...(discoveryOptions.extraTrackers ?? []), ...resolved.wsTrackers] })
        await this.discoveryPart.start()
      }, () => this.discoveryPart?.close(), () => this.discoveryPart?.listening() ?? []))
      // Without an explicit announce rate the coverage planner picks it from the torrent count.
      const auto = discoveryOptions.announceRate === undefined
      const shards = resolved.sources?.shard?.count
      this.parts.add(part('coverage', async () => {
        const { coveragePart } = await import('../sources/attach.ts')
        const p = this.coveragePart = coveragePart({
          scheduler: () => this.discoveryPart?.scheduler ?? null,
          sources: () => this.sources,
          warn: (code, message) => session.warn(code, message)
        }, { auto, shards })
        await p.start()
      }, () => this.coveragePart?.close(), undefined, () => this.coveragePart?.status?.() ?? null))
    }
    if (resolved.webSeedCheck) {
      const checkOptions = resolved.webSeedCheck
      this.parts.add(part('web-seed-check', async () => {
        const { WebSeedHealth } = await import('./web-seed-health.ts')
        this.healthPart = new WebSeedHealth(session, checkOptions).start()
      }, () => this.healthPart?.close()))
    }
    if (resolved.http) {
      const httpOptions = resolved.http
      this.parts.add(part('http', async () => {
        // prom-client and the routes cost nothing unless asked for.
        const { startHttp } = await import('../http/server.ts')
        this.httpPart = await startHttp(this, httpOptions)
      }, () => this.httpPart?.close(), () => this.httpPart?.listening() ?? []))
    }
    if (this.loaderPart && resolved.watch) {
      const loader = this.loaderPart
      // Last to start, first to stop: no file change is applied while the rest shuts down.
      this.parts.add(part('directory-watch', () => loader.watch(), () => loader.close()))
    }
    this.parts.add(part('extra', () => {}, async () => {
      for (const e of this.extra.splice(0).reverse()) await e.close()
    }, () => this.extra.flatMap(e => e.listening?.() ?? [])))
  }

  private makePool (options: NodeWebRtcOptions): WebRtcAnswerPool {
    const { rtc, ...poolOptions } = options
    return new WebRtcAnswerPool(this.session, rtc ?? loadNodeWebRtc, poolOptions)
  }

  /** Starts every part in order. */
  async start (): Promise<this> {
    await this.parts.start()
    return this
  }

  /** Parts in start order (for docs, logs and tests). */
  partNames (): string[] { return this.parts.names() }

  /** Each part's status, by name. */
  status (): Record<string, unknown> { return this.parts.status() }

  // ---- the parts, read-only ----

  /** The TCP port peers connect to (after start). */
  get port (): number { return this.tcp.port }
  /** uTP's address while it listens (null when off or unavailable). */
  get utp (): { port: number, host: string } | null {
    const l = this.utpTransport?.listening()[0]
    return l ? { port: l.port, host: l.address } : null
  }
  /** The directory loader when `loadPath` is set. @internal */
  get loader (): DirectoryLoader | null { return this.loaderPart }
  /** The initial scan's result (after start); with `sources`, what their first scans and polls loaded. @internal */
  get lastScan (): ScanResult | null { return this.sourcesPart?.scan ?? this.scan }
  /** Torrent sources and shard filter when `sources` is set (after start). @internal */
  get sources (): SourceSet | null { return this.sourcesPart?.set ?? null }
  /** Announce coverage plan while discovery runs (after start). @internal */
  get coverage (): CoveragePlanner | null { return this.coveragePart?.planner ?? null }
  /** Announces and peer discovery, read-only (after start, unless `discovery: false`). */
  get discovery (): DiscoveryView | null { return this.discoveryPart }
  /** The WebRTC answer pool, read-only, unless `webrtc: false` (its RTC implementation loads on first need). */
  get webrtcTransport (): WebRtcView | null { return this.pool }
  /** The HTTP face when `http` is set (after start): its `url`, `publicUrl`, `port`, `address`. */
  get http (): HttpFace | null { return this.httpPart }
  /** Web seed checks when `webSeedCheck` is set (after start). */
  get webSeedHealth (): WebSeedChecks | null { return this.healthPart }
  /** For the HTTP face: our listeners are expected unless `listen: false`. @internal */
  get expectsListeners (): boolean { return this.options.listen !== false }

  /** Transports accepting connections now. */
  listening (): ListeningTransport[] {
    return this.parts.listening()
  }

  /** Lets embedding code stop something with the service (closed before the built-in parts) and list it in `listening()`. */
  register (closer: () => Promise<void> | void, listening?: () => ListeningTransport[]): void {
    this.extra.push({ close: closer, listening })
  }

  // ---- the session's API ----

  /** @internal the HTTP face, the sources and tests read the store; the API is the methods below */
  get store (): TorrentStore { return this.session.store }
  /** @internal */
  get stats (): MetadataPeer['stats'] { return this.session.stats }
  /** Our 20-byte peer id, sent in every handshake. */
  get peerId (): Uint8Array { return this.session.peerId }
  /** Whether private (BEP 27) torrents are served. */
  get allowPrivate (): boolean { return this.session.allowPrivate }
  /** True once `close()` has begun. */
  get closed (): boolean { return this.session.closed }

  /**
   * Adds a torrent from .torrent bytes, a parsed torrent, or a path to a .torrent file.
   * Torrents added here are kept in memory (`pin`) unless `pin: false` is given: only the
   * load path's torrents are re-read from their files on demand.
   */
  async addTorrent (input: Uint8Array | ParsedTorrent | string, options: AddTorrentOptions = {}): Promise<TorrentRecord> {
    if (typeof input === 'string') return await this.addTorrentFile(input, options)
    return await this.session.addTorrent(input, { pin: true, ...options })
  }

  /** Reads a .torrent file and serves it, kept in memory. */
  async addTorrentFile (file: string, options: AddTorrentOptions = {}): Promise<TorrentRecord> {
    const full = path.resolve(file)
    const bytes = new Uint8Array(await readFile(full))
    return await this.session.addTorrent(bytes, { pin: true, source: full, ...options })
  }

  /** Stops serving a torrent; its peers close with reason `torrent-removed`. False if unknown. */
  removeTorrent (infoHash: string): boolean { return this.session.removeTorrent(infoHash) }
  /** A served torrent by its v1 (or truncated v2) info hash. */
  getTorrent (infoHash: string): TorrentRecord | undefined { return this.session.getTorrent(infoHash) }
  /** Every served torrent. */
  torrents (): TorrentRecord[] { return this.session.torrents() }
  /** One torrent's counters (zeros for an unknown one). */
  torrentStats (infoHash: string): TorrentCounters { return this.session.torrentStats(infoHash) }
  /** Totals, per transport, closes by reason. */
  getStats (): StatsSnapshot { return this.session.getStats() }
  /** Open connections. */
  peers (): PeerSummary[] { return this.session.peers() }
  /** Runs the BitTorrent session on a duplex byte stream from your own transport (see MetadataPeer). */
  handleConnection (stream: ByteStream, info: ConnectionInfo): PeerConnection { return this.session.handleConnection(stream, info) }
  /** Emits a `warning` with a code. */
  warn (code: string, message: string, record?: TorrentRecord): void { this.session.warn(code, message, record) }
  /** Emits an error as a `warning`, with its code when it has one. */
  warnError (err: unknown, source?: string): void { this.session.warnError(err, source) }

  /** Opens an outgoing connection to a peer for one torrent over TCP (via the proxy and outgoing interface if set). */
  async dial (host: string, port: number, infoHash: string): Promise<PeerConnection> {
    return await this.tcp.dial({ host, port, infoHash })
  }

  // Events are the session's: one source, no re-emitting per exchange.
  on<K extends keyof MetadataPeerEvents> (event: K, fn: Listener<K>): this { this.session.on(event, fn as never); return this }
  once<K extends keyof MetadataPeerEvents> (event: K, fn: Listener<K>): this { this.session.once(event, fn as never); return this }
  off<K extends keyof MetadataPeerEvents> (event: K, fn: Listener<K>): this { this.session.off(event, fn as never); return this }
  listenerCount<K extends keyof MetadataPeerEvents> (event: K): number { return this.session.listenerCount(event) }

  /**
   * Closes the session first (every connection with reason `shutdown`, no new ones), then the
   * parts in reverse order of start. Safe to call twice.
   */
  close (): Promise<void> {
    this.closing ??= (async () => {
      // The watcher stops before anything else can see a file change.
      this.loaderPart?.close()
      await this.session.close()
      await this.parts.close()
    })()
    return this.closing
  }
}

/**
 * Creates, loads and starts a torrent-fish service. Warnings raised while loading reach every
 * 'warning' listener, also those attached after this resolves (see startup-warnings.ts);
 * `setup` runs before loading starts, for listeners that must see events as they happen.
 */
export async function createTorrentFish (options: TorrentFishOptions = {}, setup?: (fish: TorrentFish) => void): Promise<TorrentFish> {
  const fish = new TorrentFish(options)
  // Load-time warnings also reach 'warning' listeners attached after this resolves (on the session: the one event source).
  const held = holdStartupWarnings(fish.session)
  setup?.(fish)
  try {
    return await fish.start()
  } catch (err) {
    await fish.close()
    throw err
  } finally {
    held.release()
  }
}
