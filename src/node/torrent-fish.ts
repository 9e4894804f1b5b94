/**
 * The Node service: the metadata peer plus its Node transports and the load directory.
 * `createTorrentFish()` is what the CLI runs and what Node services import.
 */
import { readFile } from 'node:fs/promises'
import { hash as oneShotHash } from 'node:crypto'
import { setSyncDigest } from '../core/digest.ts'
import path from 'node:path'
import { MetadataPeer, type MetadataPeerOptions, type AddTorrentOptions } from '../core/metadata-peer.ts'
import type { PeerConnection } from '../core/peer-connection.ts'
import type { TorrentRecord, ParsedTorrent } from '../core/torrent.ts'
import { InvalidOptionError } from '../core/errors.ts'
import { listenTcp, dialTcp, type TcpListener } from '../transport/tcp.ts'
import { DirectoryLoader, type ScanResult } from './directory-loader.ts'
import { socksConnector } from './socks-proxy.ts'
import { holdStartupWarnings } from './startup-warnings.ts'
import type { Discovery, DiscoveryOptions } from '../discovery/discovery.ts'
import type { UtpListener } from '../transport/utp.ts'
import type { HttpFace, HttpOptions } from '../http/server.ts'
import type { WebSeedHealth, WebSeedHealthOptions } from './web-seed-health.ts'
import type { NodeWebRtcOptions } from './webrtc-hybrid.ts'
import type { WebRtcTransport } from '../transport/webrtc.ts'
import type { SourcesOptions } from '../sources/options.ts'
import type { SourceSet } from '../sources/source-set.ts'
import type { CoveragePlanner } from '../sources/coverage.ts'

// Node's one-shot hash is synchronous and far cheaper than a Hash object per torrent.
setSyncDigest((algorithm, data) => oneShotHash(algorithm === 'sha-1' ? 'sha1' : 'sha256', data, 'hex'))

export interface TorrentFishOptions extends MetadataPeerOptions {
  /** TCP (and uTP) port; default 6881, 0 picks a free one. */
  port?: number
  /** Address to listen on (`-i`); default every IPv4 and IPv6 address. */
  listenInterface?: string
  /** Local address outgoing connections bind to (`-o`). */
  outgoingInterface?: string
  /** Directory of .torrent files to serve (`-l`). */
  loadPath?: string
  /** Apply changes in `loadPath` while running; default true. */
  watch?: boolean
  /** SOCKS5 proxy `host:port` for outgoing connections (`-r`). */
  proxy?: string
  /** Do not listen at all (library use with custom transports). */
  listen?: boolean
  /** uTP on the TCP port number (default true; off or missing utp-native: TCP only, said once). */
  utp?: boolean
  /** Trackers, DHT, LSD, outgoing connections, embedded tracker; `false` for none. */
  discovery?: DiscoveryOptions | false
  /** HTTP face: `/<infohash>.torrent` for `xs=`, /health, /metrics, status page, admin routes. */
  http?: HttpOptions
  /** Check the torrents' web seeds now and then (true = defaults: every 15 minutes). */
  webSeedCheck?: boolean | WebSeedHealthOptions
  /** WebSocket (WebTorrent) trackers to announce every torrent on, for browser peers over WebRTC. */
  wsTrackers?: string[]
  /** Torrent sources: directories and http(s) listings, feeds, manifests; polling; `shard` (src/sources). */
  sources?: SourcesOptions
  /** WebRTC (hybrid peer): on by default when `wsTrackers` are given; false turns it off; an object tunes it. */
  webrtc?: boolean | NodeWebRtcOptions
}

/** A transport that is accepting connections, for status and health reports. */
export interface ListeningTransport {
  name: string
  address: string
  port: number
}

export class TorrentFish extends MetadataPeer {
  readonly options: TorrentFishOptions
  loader: DirectoryLoader | null = null
  lastScan: ScanResult | null = null
  private tcp: TcpListener | null = null
  /** Announces and peer discovery (after start, unless `discovery: false`). */
  discovery: Discovery | null = null
  utp: UtpListener | null = null
  /** Extra things to stop on close (discovery, other transports), in reverse order of start. */
  private readonly closers: Array<() => Promise<void> | void> = []

  constructor (options: TorrentFishOptions = {}) {
    super({
      ...options,
      store: {
        // Torrents from files are re-read on demand, so only asked-for info dicts stay in memory.
        reader: async (record: TorrentRecord) => {
          if (!record.source) throw new Error(`${record.infoHash} has no file to read from`)
          return new Uint8Array(await readFile(record.source))
        },
        ...options.store
      }
    })
    this.options = options
    if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
      throw new InvalidOptionError('port', `must be 0-65535, got ${options.port}`)
    }
  }

  /** The TCP port peers connect to (after start). */
  get port (): number { return this.tcp?.port ?? 0 }

  /** Transports accepting connections now. */
  listening (): ListeningTransport[] {
    const out: ListeningTransport[] = []
    if (this.tcp?.server.listening) out.push({ name: 'tcp', address: this.tcp.host, port: this.tcp.port })
    for (const extra of this.extraListeners) out.push(...extra())
    return out
  }

  private readonly extraListeners: Array<() => ListeningTransport[]> = []

  /** Lets a transport or service module report itself in `listening()` and stop on close. */
  register (closer: () => Promise<void> | void, listening?: () => ListeningTransport[]): void {
    this.closers.push(closer)
    if (listening) this.extraListeners.push(listening)
  }

  /** Loads the load path (if any), then listens. */
  async start (): Promise<this> {
    if (this.options.sources) {
      const { startSources } = await import('../sources/attach.ts')
      const o = this.options
      const locations = [...(o.loadPath ? [o.loadPath] : []), ...o.sources!.locations]
      const started = await startSources(this, { watch: o.watch, ...o.sources!, locations }, o.discovery ? o.discovery.stateDir : undefined)
      this.sources = started.set
      this.lastScan = started.scan
    } else if (this.options.loadPath) {
      this.loader = new DirectoryLoader(this, this.options.loadPath)
      this.lastScan = await this.loader.scan()
      this.store.trim() // the packed index gives back its growth slack once the scan is in
      if (this.options.watch !== false) this.loader.watch()
    }
    if (this.options.listen !== false) {
      this.tcp = await listenTcp(this, { port: this.options.port ?? 6881, host: this.options.listenInterface })
      this.listenPort = this.tcp.port
    }
    await this.startWebRtc()
    if (this.options.listen !== false) {
      // After WebRTC: it owns ws:// trackers when it runs, discovery announces the rest.
      // Loaded on use, like WebRTC and HTTP below: a process that runs none of them carries none of their libraries.
      const { attachNetworking } = await import('../discovery/attach.ts')
      const net = await attachNetworking(this)
      this.utp = net.utp
      this.discovery = net.discovery
      if (net.discovery) {
        const { attachCoverage } = await import('../sources/attach.ts')
        this.coverage = attachCoverage(this, { auto: this.options.discovery ? this.options.discovery.announceRate === undefined : true, shards: this.options.sources?.shard?.count })
      }
    }
    await this.startHttpFace()
    return this
  }

  /** Torrent sources and shard filter, when `sources` is set (after start). */
  sources: SourceSet | null = null
  /** Announce coverage plan, when discovery runs (after start). */
  coverage: CoveragePlanner | null = null

  /** The WebRTC transport when it runs (see `webrtc` and `wsTrackers`). */
  webrtcTransport: WebRtcTransport | null = null

  private async startWebRtc (): Promise<void> {
    const { webrtc, wsTrackers = [] } = this.options
    const tuned = typeof webrtc === 'object' ? webrtc : {}
    // ws:// URLs among the discovery's extra trackers count as configured ws trackers too.
    const extra = this.options.discovery ? (this.options.discovery.extraTrackers ?? []).filter(u => /^wss?:\/\//i.test(u)) : []
    const trackers = [...new Set([...wsTrackers, ...extra, ...(tuned.trackers ?? [])])]
    if (webrtc === false || (webrtc === undefined && trackers.length === 0)) return
    const { startNodeWebRtc } = await import('./webrtc-hybrid.ts')
    const transport = await startNodeWebRtc(this, { ...tuned, trackers })
    if (!transport) return
    this.webrtcTransport = transport
    this.register(() => transport.close(), () => transport.trackers().map(t => ({ name: 'webrtc', address: t.url, port: 0 })))
  }

  /** The HTTP face when `http` is set (after start). */
  http: HttpFace | null = null
  /** Web seed checks when `webSeedCheck` is set (after start). */
  webSeedHealth: WebSeedHealth | null = null

  // Loaded on demand: prom-client and the checker cost nothing unless asked for.
  private async startHttpFace (): Promise<void> {
    if (this.options.webSeedCheck) {
      const { WebSeedHealth } = await import('./web-seed-health.ts')
      const health = new WebSeedHealth(this, this.options.webSeedCheck === true ? {} : this.options.webSeedCheck)
      this.webSeedHealth = health.start()
      this.register(() => health.close())
    }
    if (this.options.http) {
      const { startHttp } = await import('../http/server.ts')
      this.http = await startHttp(this, this.options.http) // registers its own close
    }
  }

  /**
   * Adds a torrent; one with no `source` file to read back from stays pinned in memory, or
   * its .torrent (for `xs=`) and, once evicted from the cache, its info dict would be lost.
   */
  /**
   * Adds a torrent from .torrent bytes, a parsed torrent, or a path to a .torrent file.
   * Torrents added here are kept in memory (`pin`) unless `pin: false` is given: only the
   * load path's torrents are re-read from their files on demand.
   */
  override async addTorrent (input: Uint8Array | ParsedTorrent | string, options: AddTorrentOptions = {}): Promise<TorrentRecord> {
    if (typeof input === 'string') return await this.addTorrentFile(input, options)
    return await super.addTorrent(input, { pin: true, ...options })
  }

  /** Reads a .torrent file and serves it, kept in memory. */
  async addTorrentFile (file: string, options: AddTorrentOptions = {}): Promise<TorrentRecord> {
    const full = path.resolve(file)
    const bytes = new Uint8Array(await readFile(full))
    return await super.addTorrent(bytes, { pin: true, source: full, ...options })
  }

  /** Opens an outgoing connection to a peer for one torrent (via the proxy and outgoing interface if set). */
  async dial (host: string, port: number, infoHash: string): Promise<PeerConnection> {
    return await dialTcp(this, {
      host,
      port,
      infoHash,
      localAddress: this.options.outgoingInterface,
      connect: this.options.proxy ? socksConnector(this.options.proxy) : undefined
    })
  }

  override async close (): Promise<void> {
    if (this.closed) return
    this.loader?.close()
    await super.close()
    for (const closer of this.closers.reverse()) {
      try { await closer() } catch (err) { this.warnError(err, 'shutdown') }
    }
    await this.tcp?.close()
  }
}

/**
 * Creates, loads and starts a torrent-fish service. Warnings raised while loading reach every
 * 'warning' listener, also those attached after this resolves (see startup-warnings.ts);
 * `setup` runs before loading starts, for listeners that must see events as they happen.
 */
export async function createTorrentFish (options: TorrentFishOptions = {}, setup?: (fish: TorrentFish) => void): Promise<TorrentFish> {
  const fish = new TorrentFish(options)
  // Load-time warnings also reach 'warning' listeners attached after this resolves.
  const held = holdStartupWarnings(fish)
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
