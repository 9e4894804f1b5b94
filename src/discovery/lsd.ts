/**
 * Local Service Discovery (BEP 14) for public torrents, on bittorrent-lsd's multicast socket
 * and message parser.
 *
 * bittorrent-lsd makes one instance (one socket, one timer) per torrent and announces one
 * info hash per datagram. torrent-fish runs a single instance for listening and sends its own
 * announces through the shared scheduler (target `lsd`), batching up to 20 info hashes in
 * one datagram, which BEP 14 allows (repeated `Infohash:` headers).
 */
import { TorrentFishError } from '../core/errors.ts'
import LSD from 'bittorrent-lsd'
import { dropAnnounces } from '../adapters/bittorrent-lsd.ts'
import type { AnnounceEvent, AnnounceOutcome, AnnounceTarget } from '../announce/target.ts'

export const LSD_HOST = '239.192.152.143'
export const LSD_PORT = 6771
/** Info hashes per datagram: 20 x 52 bytes keeps it well under a 1280-byte IPv6-safe MTU. */
const HASHES_PER_DATAGRAM = 20
/** How long a batch waits for more hashes before it is sent. */
const BATCH_DELAY_MS = 50
/** BEP 14: no more than one announce per torrent per minute; libtorrent re-announces every 5 min. */
const LSD_INTERVAL_MS = 5 * 60_000
/** Our cookie: drops our own datagrams and other torrent-fish's (no use dialing another metadata-only peer). */
const COOKIE_PREFIX = 'torrent-fish-'

export interface LsdOptions {
  peerIdHex: string
  /** The TCP/uTP port peers should connect to. */
  port: () => number
  /** Called for a peer on the LAN announcing a torrent. */
  onPeer: (infoHash: string, addr: string) => void
  onWarning: (message: string) => void
}

export class LsdNode implements AnnounceTarget {
  readonly key = 'lsd'
  readonly maxInFlight = HASHES_PER_DATAGRAM * 2
  readonly defaultIntervalMs = LSD_INTERVAL_MS
  readonly sendsStopped = false
  private readonly lsd: any
  private readonly options: LsdOptions
  private readonly cookie: string
  private batch: Array<{ infoHash: string, resolve: () => void, reject: (err: Error) => void }> = []
  private batchTimer: ReturnType<typeof setTimeout> | null = null
  private closed = false

  private constructor (lsd: any, options: LsdOptions) {
    this.lsd = lsd
    this.options = options
    this.cookie = `${COOKIE_PREFIX}${options.peerIdHex}`
  }

  static async start (options: LsdOptions): Promise<LsdNode> {
    // infoHash is required by the constructor but unused: we never call its start()/_announce().
    const lsd = new LSD({ peerId: options.peerIdHex, infoHash: '0'.repeat(40), port: options.port() || 1 })
    const node = new LsdNode(lsd, options)
    lsd.cookie = node.cookie
    lsd.on('warning', (w: unknown) => options.onWarning(`LSD: ${w instanceof Error ? w.message : String(w)}`))
    lsd.on('peer', (addr: string, infoHash: string) => options.onPeer(infoHash.toLowerCase(), addr))
    // Its parser drops only its own cookie; drop every torrent-fish's.
    dropAnnounces(lsd, cookie => cookie.startsWith(COOKIE_PREFIX))
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      lsd.once('error', onError)
      lsd.server.once('listening', () => { lsd.off('error', onError); resolve() })
      lsd.server.bind(LSD_PORT)
    })
    lsd.on('error', (err: Error) => options.onWarning(`LSD socket: ${err.message}`))
    return node
  }

  announce (infoHash: string, _event: AnnounceEvent, _signal: AbortSignal): Promise<AnnounceOutcome> {
    return new Promise((resolve, reject) => {
      if (this.closed) { reject(new TorrentFishError('ERR_CLOSED', 'LSD is closed')); return }
      this.batch.push({ infoHash, resolve: () => resolve({ peers: [] }), reject })
      if (this.batch.length >= HASHES_PER_DATAGRAM) this.flush()
      else if (!this.batchTimer) {
        this.batchTimer = setTimeout(() => this.flush(), BATCH_DELAY_MS)
        this.batchTimer.unref?.()
      }
    })
  }

  private flush (): void {
    if (this.batchTimer) clearTimeout(this.batchTimer)
    this.batchTimer = null
    const batch = this.batch.splice(0, HASHES_PER_DATAGRAM)
    if (batch.length === 0) return
    const message = `BT-SEARCH * HTTP/1.1\r\nHost: ${LSD_HOST}:${LSD_PORT}\r\nPort: ${this.options.port()}\r\n` +
      batch.map(b => `Infohash: ${b.infoHash}\r\n`).join('') +
      `cookie: ${this.cookie}\r\n\r\n\r\n`
    this.lsd.server.send(message, LSD_PORT, LSD_HOST, (err: Error | null) => {
      for (const b of batch) err ? b.reject(new TorrentFishError('ERR_LSD_SEND', `LSD multicast send failed: ${err.message}`, { cause: err })) : b.resolve()
    })
    if (this.batch.length > 0) this.flush()
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.batchTimer) clearTimeout(this.batchTimer)
    for (const b of this.batch.splice(0)) b.reject(new TorrentFishError('ERR_CLOSED', 'LSD is closed'))
    await new Promise<void>(resolve => {
      try { this.lsd.destroy(() => resolve()) } catch { resolve() }
    })
  }
}
