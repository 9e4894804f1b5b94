/**
 * The one place torrent-fish reaches into bittorrent-tracker's client internals (pinned to an
 * exact version in package.json; test/adapters/bittorrent-tracker.test.ts fails loudly when an
 * upgrade changes what is used here).
 *
 * Why: the package's `Client` is built to live as long as its torrent, with an interval timer
 * (and for UDP a socket per request) each, and it statically imports its WebSocket tracker,
 * which imports @thaunknown/simple-peer (from 11.1 on -> webrtc-polyfill -> node-datachannel, a
 * native addon whose install script downloads a binary: the reason the package is pinned to
 * 11.0.2, whose simple-peer 9 is plain JavaScript). We need neither: the scheduler owns intervals and WebSocket trackers are our own target. So
 * we load only the HTTP and UDP tracker classes (files the package does not export, reached by
 * path next to its exported root) and drive them with a minimal stand-in for their Client.
 *
 * Node only: in browsers these classes are mapped to nothing by the package itself.
 */
import { EventEmitter } from 'node:events'
import { arr2hex, hex2arr, hex2bin } from 'uint8-util'

/** What the HTTP and UDP tracker classes read from their client (checked by the contract test). */
export const CLIENT_FIELDS_USED = [
  'infoHash', '_infoHashBinary', '_infoHashBuffer', '_peerIdBinary', '_peerIdBuffer', '_port',
  '_userAgent', '_proxyOpts', '_defaultAnnounceOpts', 'emit'
] as const

interface TrackerInstance {
  announce (opts: Record<string, unknown>): void
  setInterval (ms?: number): void
  destroy (cb?: (err?: unknown) => void): void
}
type TrackerClass = new (client: unknown, announceUrl: string) => TrackerInstance

// The package exports only its root (index.js, next to lib/), so the classes are reached by path.
const base = import.meta.resolve('bittorrent-tracker')
// import() of a computed file URL, kept away from the compiler: with rewriteRelativeImportExtensions
// TypeScript wraps every non-literal import() in a helper the Node build does not ship.
const importUrl = new Function('url', 'return import(url)') as (url: string) => Promise<{ default: TrackerClass }>
const [httpModule, udpModule] = await Promise.all([
  importUrl(new URL('./lib/client/http-tracker.js', base).href),
  importUrl(new URL('./lib/client/udp-tracker.js', base).href)
])

/** The tracker classes, for the contract test. */
export const trackerClasses = { http: httpModule.default, udp: udpModule.default }

export interface AnnounceClientIdentity {
  infoHash: string
  peerId: Uint8Array
  port: number
  userAgent?: string
}

/** The minimum of a bittorrent-tracker Client that its HTTP and UDP tracker classes read. */
class ClientStandIn extends EventEmitter {
  readonly infoHash: string
  readonly _infoHashBinary: string
  readonly _infoHashBuffer: Uint8Array
  readonly _peerIdBinary: string
  readonly _peerIdBuffer: Uint8Array
  readonly _port: number
  readonly _userAgent: string | undefined
  readonly _proxyOpts = undefined

  constructor (identity: AnnounceClientIdentity) {
    super()
    this.infoHash = identity.infoHash
    this._infoHashBinary = hex2bin(identity.infoHash)
    this._infoHashBuffer = hex2arr(identity.infoHash)
    this._peerIdBinary = hex2bin(arr2hex(identity.peerId))
    this._peerIdBuffer = identity.peerId
    this._port = identity.port
    this._userAgent = identity.userAgent
  }

  _defaultAnnounceOpts (opts: Record<string, unknown> = {}): Record<string, unknown> {
    return { uploaded: 0, downloaded: 0, left: 0, ...opts }
  }
}

/** One announce's client: emits `update`, `peer` and `warning` as bittorrent-tracker's Client does. */
export interface OneShotTracker {
  readonly events: EventEmitter
  /** The interval the tracker asked for, once its answer arrived. */
  readonly intervalMs: number | undefined
  announce (opts: Record<string, unknown>): void
  destroy (): Promise<void>
}

/** An HTTP(S) or UDP tracker client for one announce of one torrent, with no timer of its own. */
export function oneShotTracker (kind: 'http' | 'udp', url: string, identity: AnnounceClientIdentity): OneShotTracker {
  const client = new ClientStandIn(identity)
  const Tracker = kind === 'http' ? trackerClasses.http : trackerClasses.udp
  const tracker = new Tracker(client, url)
  let intervalMs: number | undefined
  // The classes arm an interval timer when the tracker answers: capture the value instead.
  tracker.setInterval = (ms?: number) => { if (ms) intervalMs = ms }
  return {
    events: client,
    get intervalMs () { return intervalMs },
    announce: opts => tracker.announce(opts),
    destroy: () => new Promise(resolve => {
      try { tracker.destroy(() => resolve()) } catch { resolve() }
    })
  }
}
