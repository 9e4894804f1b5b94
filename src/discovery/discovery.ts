/**
 * Discovery for a Node torrent-fish: makes every loaded torrent findable, within a budget.
 *
 * - trackers of each torrent (announce / announce-list) plus extra trackers, over HTTP, UDP
 *   and WebSocket;
 * - the DHT (one shared node) and LSD, for public torrents only: a private torrent (BEP 27)
 *   goes to its own trackers and nowhere else;
 * - one scheduler paces all of it (announces per second), so 100k torrents ramp up steadily
 *   and cost a small object each, not timers or sockets;
 * - peers learned are dialed (bounded, with backoff) so leechers behind NAT still reach us.
 */
import os from 'node:os'
import path from 'node:path'
import type { TorrentRecord } from '../core/torrent.ts'
import type { TorrentFish } from '../node/torrent-fish.ts'
import type { UtpListener } from '../transport/utp.ts'
import { AnnounceScheduler, type AnnounceTarget, type SchedulerOptions, type SchedulerStats, type TargetStatus, type AnnounceResult } from './announce-scheduler.ts'
import { trackerTarget, normalizeTrackerUrl } from './tracker-target.ts'
import { PeerDialer, type PeerDialerOptions, type DialerStats } from './peer-dialer.ts'
import { DhtNode } from './dht-node.ts'
import { LsdNode } from './lsd.ts'
import { startEmbeddedTracker, type EmbeddedTracker, type EmbeddedTrackerOptions } from './embedded-tracker.ts'
import { WarnLimiter } from './warn-limiter.ts'
import { TorrentFishError } from '../core/errors.ts'

export interface DiscoveryOptions {
  /** Announce to the trackers named in each torrent (default true). */
  trackers?: boolean
  /** More trackers to announce every public torrent to (`--tracker`). */
  extraTrackers?: string[]
  /** Announces per second across trackers, DHT and LSD (default 50). */
  announceRate?: number
  /** Run a DHT node (default false in the library; the CLI turns it on). */
  dht?: boolean
  /** DHT bootstrap nodes `host:port`; `false` or `[]` for none. Default: the public routers. */
  dhtBootstrap?: string[] | false
  /** UDP port for the DHT when it cannot share the uTP socket (default: the TCP port number). */
  dhtPort?: number
  /** Directory for state kept across restarts (the DHT node id and routing table). */
  stateDir?: string
  /** Local Service Discovery multicast (default false in the library; the CLI turns it on). */
  lsd?: boolean
  /** Dial peers that discovery finds (default true), or limits for doing so. */
  outgoing?: boolean | PeerDialerOptions
  /** Run a tracker in-process and announce every torrent to it: true, a port, or options. */
  embeddedTracker?: boolean | number | EmbeddedTrackerOptions
  /** Scheduler tuning (tests, benchmarks). */
  scheduler?: SchedulerOptions
}

export interface DiscoveryStatus {
  scheduler: SchedulerStats
  trackers: TargetStatus[]
  dht: { nodeId: string, nodes: number, port: number, status: TargetStatus | undefined } | null
  lsd: { status: TargetStatus | undefined } | null
  outgoing: DialerStats | null
  embeddedTracker: { httpUrl: string, udpUrl: string, wsUrl: string } | null
}

export { defaultStateDir } from '../node/state-dir.ts'

function localAddresses (): Set<string> {
  const out = new Set(['127.0.0.1', '::1', '0.0.0.0', '::', 'localhost'])
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.add(a.address)
  return out
}

export class Discovery {
  readonly scheduler: AnnounceScheduler
  readonly dialer: PeerDialer | null
  dhtNode: DhtNode | null = null
  lsd: LsdNode | null = null
  embeddedTracker: EmbeddedTracker | null = null
  private readonly fish: TorrentFish
  private readonly options: DiscoveryOptions
  private readonly targets = new Map<string, AnnounceTarget>()
  private readonly badUrls = new Set<string>()
  private extra: string[] = []
  private readonly listeners: Array<() => void> = []
  private readonly utp: UtpListener | null
  private closed = false

  constructor (fish: TorrentFish, options: DiscoveryOptions, utp: UtpListener | null) {
    this.fish = fish
    this.options = options
    this.utp = utp
    this.scheduler = new AnnounceScheduler({ ...options.scheduler, ...(options.announceRate !== undefined ? { rate: options.announceRate } : {}) })
    const outgoing = options.outgoing ?? true
    if (outgoing !== false) {
      const locals = localAddresses()
      this.dialer = new PeerDialer((host, port, infoHash) => this.dial(host, port, infoHash), {
        ...(typeof outgoing === 'object' ? outgoing : {}),
        isSelf: (host, port) => port === fish.port && (locals.has(host) || host.startsWith('127.'))
      })
    } else {
      this.dialer = null
    }
  }

  private warn (code: string, message: string, infoHash?: string): void {
    const record = infoHash ? this.fish.getTorrent(infoHash) : undefined
    this.fish.warn(code, message, record)
  }

  /** TCP first (it goes through the proxy and outgoing interface); uTP if TCP fails and no proxy is set. */
  private async dial (host: string, port: number, infoHash: string): Promise<{ id: number, closed?: unknown }> {
    try {
      return await this.fish.dial(host, port, infoHash)
    } catch (err) {
      if (!this.utp || this.fish.options.proxy || host.includes(':')) throw err
      return await this.utp.dial(host, port, infoHash)
    }
  }

  async start (): Promise<void> {
    const fish = this.fish
    const o = this.options
    if (o.embeddedTracker) {
      const eo: EmbeddedTrackerOptions = typeof o.embeddedTracker === 'object' ? o.embeddedTracker : typeof o.embeddedTracker === 'number' ? { port: o.embeddedTracker } : {}
      this.embeddedTracker = await startEmbeddedTracker(eo)
    }
    this.extra = [...new Set([...(o.extraTrackers ?? []), ...(this.embeddedTracker ? [this.embeddedTracker.httpUrl] : [])].map(normalizeTrackerUrl))]

    if (o.dht) {
      const shared = this.utp?.udpSocket()
      const stateFile = o.stateDir ? path.join(o.stateDir, 'dht-state.json') : undefined
      try {
        this.dhtNode = await DhtNode.start({
          bootstrap: o.dhtBootstrap,
          stateFile,
          onSaveError: err => this.warn('WARN_DHT_STATE', `${stateFile}: cannot save the DHT state (${err.message}); serving continues`),
          socket: shared,
          port: o.dhtPort ?? fish.port,
          host: fish.options.listenInterface && !fish.options.listenInterface.includes(':') ? fish.options.listenInterface : undefined,
          peerPort: () => fish.port
        })
      } catch (err) {
        shared?.close()
        this.warn('WARN_DHT_UNAVAILABLE', `DHT disabled: ${(err as Error).message}`)
      }
      if (this.dhtNode?.stateProblem) this.warn('WARN_DHT_STATE', `${stateFile}: ${this.dhtNode.stateProblem}; starting with a new node id`)
      if (this.dhtNode) {
        fish.dht = true
        const limiter = new WarnLimiter(m => this.warn('WARN_DHT', m))
        this.dhtNode.dht.on('warning', (err: Error) => limiter.warn(`DHT: ${err?.message ?? String(err)}`))
        this.dhtNode.dht.on('error', (err: Error) => this.warn('WARN_DHT', `DHT error: ${err?.message ?? String(err)}`))
        this.dhtNode.dht.on('peer', (peer: { host: string, port: number }, infoHash: Uint8Array) => {
          this.learned(Buffer.from(infoHash).toString('hex'), [`${peer.host}:${peer.port}`])
        })
      }
    }
    if (o.lsd) {
      const limiter = new WarnLimiter(m => this.warn('WARN_LSD', m))
      try {
        this.lsd = await LsdNode.start({
          peerIdHex: Buffer.from(fish.peerId).toString('hex'),
          port: () => fish.port,
          onPeer: (infoHash, addr) => this.learned(infoHash, [addr]),
          onWarning: m => limiter.warn(m)
        })
      } catch (err) {
        this.warn('WARN_LSD_UNAVAILABLE', `LSD disabled: ${(err as Error).message}`)
      }
    }

    this.scheduler.on('peers', (infoHash, peers) => this.learned(infoHash, peers))
    this.scheduler.on('warning', w => this.warn(w.code, w.message, w.infoHash))
    if (this.dialer) {
      this.dialer.onError = () => {} // a peer from a tracker being gone is routine; counted in stats
      const onClose = (e: { id: number }): void => this.dialer!.connectionClosed(e.id)
      fish.on('peer-close', onClose)
      this.listeners.push(() => fish.off('peer-close', onClose))
    }
    const onAdded = (r: TorrentRecord): void => this.add(r)
    const onRemoved = (r: TorrentRecord): void => {
      // A replaced torrent is removed then added under the same hash: keep its schedule.
      if (!fish.store.has(r.infoHash)) this.scheduler.remove(r.infoHash)
    }
    fish.on('torrent-added', onAdded)
    fish.on('torrent-removed', onRemoved)
    this.listeners.push(() => { fish.off('torrent-added', onAdded); fish.off('torrent-removed', onRemoved) })
    for (const record of fish.store.records()) this.add(record)
  }

  /** Peers for a torrent we hold (and may be found for) go to the dialer. */
  private learned (infoHash: string, peers: string[]): void {
    if (!this.dialer || this.closed) return
    const record = this.fish.getTorrent(infoHash)
    if (!record || (record.private && !this.fish.allowPrivate)) return
    this.dialer.add(record.infoHash, peers)
  }

  private target (url: string): AnnounceTarget | undefined {
    const key = normalizeTrackerUrl(url)
    let target = this.targets.get(key)
    if (target) return target
    if (this.badUrls.has(key)) return undefined
    // A running WebRTC transport answers offers on ws:// trackers itself, under our peer id:
    // announcing there too would only race it.
    if (/^wss?:/i.test(key) && this.fish.webrtcTransport) return undefined
    try {
      target = trackerTarget(key, {
        peerId: this.fish.peerId,
        port: () => this.fish.port,
        userAgent: 'torrent-fish/0.1.0',
        numwant: this.dialer ? 50 : 0
      })
    } catch (err) {
      this.badUrls.add(key)
      this.warn(err instanceof TorrentFishError ? err.code : 'ERR_TRACKER_UNSUPPORTED', `tracker ignored: ${(err as Error).message}`)
      return undefined
    }
    this.targets.set(key, target)
    return target
  }

  /** Which targets a torrent goes to. */
  targetsFor (record: TorrentRecord): AnnounceTarget[] {
    if (record.private && !this.fish.allowPrivate) return [] // refused to peers, so not advertised
    const out: AnnounceTarget[] = []
    if (this.options.trackers !== false) {
      for (const tier of record.announce) for (const url of tier) { const t = this.target(url); if (t) out.push(t) }
    }
    if (record.private) return out // BEP 27: its own trackers only; no DHT, LSD, PEX or extra trackers
    for (const url of this.extra) { const t = this.target(url); if (t) out.push(t) }
    if (this.dhtNode) out.push(this.dhtNode)
    if (this.lsd) out.push(this.lsd)
    return out
  }

  add (record: TorrentRecord): void {
    if (this.closed) return
    const targets = this.targetsFor(record)
    if (record.private && this.fish.allowPrivate && targets.length === 0) {
      this.warn('WARN_PRIVATE_NO_TRACKER', `${record.name} (${record.infoHash}) is private but names no usable tracker: BEP 27 rules out the DHT and LSD, so nobody can find it`, record.infoHash)
    }
    if (targets.length > 0) this.scheduler.add(record.infoHash, targets)
  }

  status (): DiscoveryStatus {
    const all = this.scheduler.targetStatus()
    return {
      scheduler: this.scheduler.stats(),
      trackers: all.filter(t => t.key !== 'dht' && t.key !== 'lsd'),
      dht: this.dhtNode ? { nodeId: this.dhtNode.nodeId, nodes: this.dhtNode.nodeCount, port: this.dhtNode.port, status: all.find(t => t.key === 'dht') } : null,
      lsd: this.lsd ? { status: all.find(t => t.key === 'lsd') } : null,
      outgoing: this.dialer?.stats() ?? null,
      embeddedTracker: this.embeddedTracker ? { httpUrl: this.embeddedTracker.httpUrl, udpUrl: this.embeddedTracker.udpUrl, wsUrl: this.embeddedTracker.wsUrl } : null
    }
  }

  /**
   * Per tracker: whether its last announce worked, when, and why not (for /health and
   * /metrics); null while no tracker has been announced to, which reads as "unknown".
   */
  trackerReports (): Array<{ url: string, ok: boolean, lastAnnounce?: number, error?: string }> | null {
    const trackers = this.scheduler.targetStatus().filter(t => t.key !== 'dht' && t.key !== 'lsd' && t.last)
    if (trackers.length === 0) return null
    return trackers.map(t => ({
      url: t.key,
      ok: t.last!.ok,
      lastAnnounce: t.last!.at,
      ...(t.last!.ok ? {} : { error: t.last!.message ?? t.last!.code ?? 'failed' })
    }))
  }

  /** Announces so far by result, trackers, DHT and LSD together. */
  announceCounts (): { ok: number, error: number } {
    const s = this.scheduler.stats()
    return { ok: s.announces - s.failures, error: s.failures }
  }

  /** Last announce result per target for one torrent. */
  torrentStatus (infoHash: string): Array<{ target: string, due: number, failures: number, last: AnnounceResult | undefined }> {
    return this.scheduler.torrentStatus(infoHash)
  }

  listening (): Array<{ name: string, address: string, port: number }> {
    const out: Array<{ name: string, address: string, port: number }> = []
    if (this.dhtNode && !this.closed) out.push({ name: 'dht', address: this.dhtNode.dht.address().address, port: this.dhtNode.port })
    if (this.embeddedTracker && !this.closed) {
      const t = this.embeddedTracker
      out.push({ name: 'tracker-http', address: t.server.http.address().address, port: t.port })
      out.push({ name: 'tracker-udp', address: t.server.udp4.address().address, port: t.udpPort })
    }
    return out
  }

  /** Sends `stopped` where owed (within the scheduler's stop timeout), then stops everything. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const off of this.listeners.splice(0)) off()
    this.dialer?.close()
    await this.scheduler.close() // closes tracker targets, the DHT node and LSD too
    await this.dhtNode?.close()
    await this.lsd?.close()
    await this.embeddedTracker?.close()
  }
}
