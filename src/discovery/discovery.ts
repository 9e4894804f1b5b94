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
import { AnnounceScheduler, type SchedulerOptions, type SchedulerStats, type TargetStatus, type AnnounceResult } from '../announce/scheduler.ts'
import type { AnnounceTarget } from '../announce/target.ts'
import { Announcer, type TorrentEventSource } from '../announce/announcer.ts'
import { WebSocketTrackerTarget, type SignalingHandler } from '../announce/ws-tracker-target.ts'
import { trackerTarget, checkTrackerUrl } from './tracker-target.ts'
import { PeerDialer, type DialerStats } from './peer-dialer.ts'
import type { DiscoveryOptions } from './options.ts'
import { DhtNode } from './dht-node.ts'
import { LsdNode } from './lsd.ts'
import { startEmbeddedTracker, type EmbeddedTracker, type EmbeddedTrackerOptions } from './embedded-tracker.ts'
import { WarnThrottle } from '../util/warn-throttle.ts'
import type { SharedUdpSocket } from '../transport/utp.ts'
import type { DialFunction } from '../transport/dial-policy.ts'
import type { ListeningAddress } from '../util/parts.ts'
import { resolveDiscoveryOptions } from './options.ts'
export { DISCOVERY_DEFAULTS } from './options.ts'

/** What discovery needs from the session: its torrent events, identity and peer closes. */
export interface DiscoverySession extends TorrentEventSource {
  readonly peerId: Uint8Array
  getTorrent (infoHash: string): TorrentRecord | undefined
  on (event: 'torrent-added' | 'torrent-removed' | 'torrent-updated', fn: (record: TorrentRecord) => void): unknown
  on (event: 'peer-close', fn: (e: { id: number }) => void): unknown
  off (event: 'torrent-added' | 'torrent-removed' | 'torrent-updated', fn: (record: TorrentRecord) => void): unknown
  off (event: 'peer-close', fn: (e: { id: number }) => void): unknown
  warn (code: string, message: string, record?: TorrentRecord): void
}

/** Everything discovery is given at construction by the service that owns it. */
export interface DiscoveryContext {
  session: DiscoverySession
  /** The one dial policy (TCP, then uTP); null: no outgoing connections. */
  dial: DialFunction | null
  /** The port peers reach us on (TCP; uTP shares the number). */
  port: () => number
  /** The address we listen on, if one was given. */
  listenInterface?: string
  /** The uTP socket's other datagrams, so the DHT shares the port; null without uTP. */
  udpSocket: () => SharedUdpSocket | null
  /** The WebRTC answer pool for WebSocket trackers' offers; null: ws trackers are skipped. */
  signaling: SignalingHandler | null
}

export type { DiscoveryOptions } from './options.ts'

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
  readonly name = 'discovery'
  readonly scheduler: AnnounceScheduler
  readonly dialer: PeerDialer | null
  dhtNode: DhtNode | null = null
  lsd: LsdNode | null = null
  embeddedTracker: EmbeddedTracker | null = null
  private readonly session: DiscoverySession
  private readonly context: DiscoveryContext
  private readonly options: DiscoveryOptions
  private announcer: Announcer | null = null
  private readonly listeners: Array<() => void> = []
  private closed = false

  constructor (context: DiscoveryContext, options: DiscoveryOptions = {}) {
    this.context = context
    this.session = context.session
    this.options = options = resolveDiscoveryOptions(options)
    this.scheduler = new AnnounceScheduler({ ...options.scheduler, ...(options.announceRate !== undefined ? { rate: options.announceRate } : {}) })
    const outgoing = options.outgoing ?? true
    const dial = context.dial
    if (outgoing !== false && dial) {
      const locals = localAddresses()
      this.dialer = new PeerDialer((host, port, infoHash) => dial({ host, port, infoHash }), {
        ...(typeof outgoing === 'object' ? outgoing : {}),
        isSelf: (host, port) => port === context.port() && (locals.has(host) || host.startsWith('127.'))
      })
    } else {
      this.dialer = null
    }
  }

  private warn (code: string, message: string, infoHash?: string): void {
    const record = infoHash ? this.session.getTorrent(infoHash) : undefined
    this.session.warn(code, message, record)
  }

  /** The target for a tracker URL: HTTP/UDP here, WebSocket through the WebRTC answer pool (skipped without it). */
  private targetFor (url: string): AnnounceTarget | undefined {
    const kind = checkTrackerUrl(url)
    if (kind === 'ws') {
      const signaling = this.context.signaling
      if (!signaling) return undefined // WebRTC off: nobody would answer the offers this tracker relays
      return new WebSocketTrackerTarget(url, { peerId: this.session.peerId, signaling, warn: (code, message) => this.warn(code, message) })
    }
    return trackerTarget(url, {
      peerId: this.session.peerId,
      port: this.context.port,
      userAgent: 'torrent-fish/0.1.0',
      numwant: this.dialer ? 50 : 0
    })
  }

  async start (): Promise<void> {
    const session = this.session
    const context = this.context
    const o = this.options
    if (o.embeddedTracker) {
      const eo: EmbeddedTrackerOptions = typeof o.embeddedTracker === 'object' ? o.embeddedTracker : typeof o.embeddedTracker === 'number' ? { port: o.embeddedTracker } : {}
      this.embeddedTracker = await startEmbeddedTracker(eo)
    }
    const extra = [...(o.extraTrackers ?? []), ...(this.embeddedTracker ? [this.embeddedTracker.httpUrl] : [])]

    if (o.dht) {
      const shared = context.udpSocket() ?? undefined
      const stateFile = o.stateDir ? path.join(o.stateDir, 'dht-state.json') : undefined
      try {
        this.dhtNode = await DhtNode.start({
          bootstrap: o.dhtBootstrap,
          stateFile,
          onSaveError: err => this.warn('WARN_DHT_STATE', `${stateFile}: cannot save the DHT state (${err.message}); serving continues`),
          socket: shared,
          port: o.dhtPort ?? context.port(),
          host: context.listenInterface && !context.listenInterface.includes(':') ? context.listenInterface : undefined,
          peerPort: context.port
        })
      } catch (err) {
        shared?.close()
        this.warn('WARN_DHT_UNAVAILABLE', `DHT disabled: ${(err as Error).message}`)
      }
      if (this.dhtNode?.stateProblem) this.warn('WARN_DHT_STATE', `${stateFile}: ${this.dhtNode.stateProblem}; starting with a new node id`)
      if (this.dhtNode) {
        const limiter = new WarnThrottle(m => this.warn('WARN_DHT', m))
        this.dhtNode.dht.on('warning', (err: Error) => limiter.warn(`DHT: ${err?.message ?? String(err)}`))
        this.dhtNode.dht.on('error', (err: Error) => this.warn('WARN_DHT', `DHT error: ${err?.message ?? String(err)}`))
        this.dhtNode.dht.on('peer', (peer: { host: string, port: number }, infoHash: Uint8Array) => {
          this.learned(Buffer.from(infoHash).toString('hex'), [`${peer.host}:${peer.port}`])
        })
      }
    }
    if (o.lsd) {
      const limiter = new WarnThrottle(m => this.warn('WARN_LSD', m))
      try {
        this.lsd = await LsdNode.start({
          peerIdHex: Buffer.from(session.peerId).toString('hex'),
          port: context.port,
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
      session.on('peer-close', onClose)
      this.listeners.push(() => session.off('peer-close', onClose))
    }
    this.announcer = new Announcer(session, this.scheduler, {
      trackers: o.trackers !== false,
      extraTrackers: extra,
      extraTargets: () => [...(this.dhtNode ? [this.dhtNode] : []), ...(this.lsd ? [this.lsd] : [])],
      targetFor: url => this.targetFor(url)
    })
    this.announcer.start()
    this.scheduler.trim() // every loaded torrent is in: give back the job tables' growth slack
  }

  /** Peers for a torrent we hold (and may be found for) go to the dialer. */
  private learned (infoHash: string, peers: string[]): void {
    if (!this.dialer || this.closed) return
    const record = this.session.getTorrent(infoHash)
    if (!record || (record.private && !this.session.allowPrivate)) return
    this.dialer.add(record.infoHash, peers)
  }

  /** Which targets a torrent goes to. */
  targetsFor (record: TorrentRecord): AnnounceTarget[] {
    return this.announcer?.targetsFor(record) ?? []
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

  listening (): ListeningAddress[] {
    const out: ListeningAddress[] = []
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
    this.announcer?.close()
    this.dialer?.close()
    await this.scheduler.close() // closes the targets it adopted, the DHT node and LSD too
    for (const t of this.announcer?.knownTargets() ?? []) await t.close?.()
    await this.dhtNode?.close()
    await this.lsd?.close()
    await this.embeddedTracker?.close()
  }
}
