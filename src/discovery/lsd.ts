/**
 * Local Service Discovery (BEP 14) for public torrents, on bittorrent-lsd's multicast socket
 * and message parser.
 *
 * bittorrent-lsd makes one instance (one socket, one timer) per torrent and announces one
 * info hash per datagram. torrent-fish runs a single instance for listening and sends its own
 * announces through the shared scheduler (target `lsd`), which hands it every LSD job of a
 * pacer pass at once (`announceBatch`): up to 24 info hashes go in one datagram, which BEP 14
 * allows (repeated `Infohash:` headers). Each hash still takes one slot of the rate budget.
 */
import { TorrentFishError } from '../core/errors.ts'
import LSD from 'bittorrent-lsd'
import { dropAnnounces } from '../adapters/bittorrent-lsd.ts'
import type { AnnounceEvent, AnnounceOutcome, AnnounceTarget } from '../announce/target.ts'

export const LSD_HOST = '239.192.152.143'
export const LSD_PORT = 6771
/**
 * BEP 14: a datagram of several `Infohash:` headers "should not exceed 1400 bytes to avoid
 * MTU/fragmentation problems". Ours: 52 bytes per hash after 130 of request line, Host, Port
 * (5 digits at most) and cookie: 24 hashes fit (1,378 bytes).
 */
const MAX_DATAGRAM_BYTES = 1400
const HASH_HEADER_BYTES = 'Infohash: \r\n'.length + 40
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
  /** Two datagrams' worth: a pacer pass can pick a full datagram while the last is sent. */
  readonly maxInFlight: number
  readonly defaultIntervalMs = LSD_INTERVAL_MS
  readonly sendsStopped = false
  private readonly lsd: any
  private readonly options: LsdOptions
  private readonly cookie: string
  /** Info hashes per datagram, from the datagram's fixed part (cookie length) and the 1400-byte cap. */
  readonly hashesPerDatagram: number
  private closed = false

  private constructor (lsd: any, options: LsdOptions) {
    this.lsd = lsd
    this.options = options
    this.cookie = `${COOKIE_PREFIX}${options.peerIdHex}`
    const fixed = this.message([], 65535).length // ASCII: one byte per character
    this.hashesPerDatagram = Math.max(1, Math.floor((MAX_DATAGRAM_BYTES - fixed) / HASH_HEADER_BYTES))
    this.maxInFlight = this.hashesPerDatagram * 2
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
    return this.announceBatch([infoHash])
  }

  /**
   * One multicast send per `hashesPerDatagram` info hashes; settles when every send has
   * completed (a failed one fails the whole call: the scheduler retries those torrents later).
   */
  announceBatch (infoHashes: readonly string[]): Promise<AnnounceOutcome> {
    if (this.closed) return Promise.reject(new TorrentFishError('ERR_CLOSED', 'LSD is closed'))
    return new Promise((resolve, reject) => {
      let pending = Math.ceil(infoHashes.length / this.hashesPerDatagram)
      let failed: Error | null = null
      const sent = (err: Error | null): void => {
        if (err && !failed) failed = new TorrentFishError('ERR_LSD_SEND', `LSD multicast send failed: ${err.message}`, { cause: err })
        if (--pending > 0) return
        if (failed) reject(failed)
        else resolve({ peers: [] })
      }
      if (pending === 0) { resolve({ peers: [] }); return }
      const port = this.options.port()
      for (let i = 0; i < infoHashes.length; i += this.hashesPerDatagram) {
        this.lsd.server.send(this.message(infoHashes.slice(i, i + this.hashesPerDatagram), port), LSD_PORT, LSD_HOST, sent)
      }
    })
  }

  private message (infoHashes: readonly string[], port: number): string {
    let hashes = ''
    for (const h of infoHashes) hashes += `Infohash: ${h}\r\n`
    return `BT-SEARCH * HTTP/1.1\r\nHost: ${LSD_HOST}:${LSD_PORT}\r\nPort: ${port}\r\n${hashes}cookie: ${this.cookie}\r\n\r\n\r\n`
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await new Promise<void>(resolve => {
      try { this.lsd.destroy(() => resolve()) } catch { resolve() }
    })
  }
}
