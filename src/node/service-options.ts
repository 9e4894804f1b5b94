/**
 * The Node service's own options: its type, one defaults object with the reason for each value,
 * and one validator built on the shared helper. Unknown names are rejected with the name
 * (InvalidOptionError). The service resolves these once and hands each part its own resolved
 * options; no part reads this object. The CLI takes its defaults from SERVICE_DEFAULTS.
 */
import type { MetadataPeerOptions } from '../core/metadata-peer.ts'
import { resolveDiscoveryOptions, type DiscoveryOptions } from '../discovery/options.ts'
import { resolveHttpOptions, type HttpOptions } from '../http/options.ts'
import { resolveWebSeedHealthOptions, type WebSeedHealthOptions } from './web-seed-health.ts'
import type { NodeWebRtcOptions } from './webrtc-hybrid.ts'
import { resolveOptions, integerIn, isBoolean, isString, stringList, anything, type OptionSpec } from '../util/options.ts'
import { parseHostPort } from '../util/address.ts'
import type { SourcesOptions } from '../sources/options.ts'

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
  /** WebSocket (WebTorrent) trackers to announce every public torrent on, for browser peers over WebRTC. */
  wsTrackers?: string[]
  /**
   * Torrent sources (src/sources): directories and http(s) listings, feeds and manifests, in
   * any mix, polled; `shard` serves one share of them. `loadPath`, when also set, is the first.
   */
  sources?: SourcesOptions
  /**
   * WebRTC (hybrid peer). On by default: a torrent whose own trackers include ws:// or wss://
   * (or `wsTrackers`) is answered over WebRTC; @roamhq/wrtc loads on first need. `false` turns
   * it off; an object tunes it.
   */
  webrtc?: boolean | NodeWebRtcOptions
}

/** Defaults of the service's options, each with its reason. */
export const SERVICE_DEFAULTS = {
  /** The original torrent-fish's and BitTorrent's customary port. */
  port: 6881,
  /** Serve what is in the load path as it changes, without a restart. */
  watch: true,
  /** A service is reachable unless the library user brings its own transports. */
  listen: true,
  /** libtorrent-based clients take seconds longer to get metadata without incoming uTP. */
  utp: true,
  /**
   * On: a browser leecher whose magnet names only the torrent's own ws:// tracker can reach us
   * only over WebRTC; the implementation loads only when a WebSocket tracker is announced to.
   */
  webrtc: true as boolean | NodeWebRtcOptions,
  /** No extra WebSocket trackers: the torrents' own are announced to anyway. */
  wsTrackers: [] as string[]
}

const SESSION_KEYS = ['peerId', 'allowPrivate', 'connectionLimit', 'perIpLimit', 'handshakeTimeoutMs', 'idleTimeoutMs', 'maxMessageSize', 'uploadRateLimit', 'downloadRateLimit', 'store', 'dht', 'listenPort', 'admission'] as const

type ServiceKeys = Omit<TorrentFishOptions, typeof SESSION_KEYS[number]>

const objectOrFalse = (v: unknown): string | undefined => v === false || (typeof v === 'object' && v !== null) ? undefined : 'must be an object or false'
const objectOrBoolean = (v: unknown): string | undefined => typeof v === 'boolean' || (typeof v === 'object' && v !== null) ? undefined : 'must be true, false or an object'
const wsUrls = (v: unknown): string | undefined => stringList(v) ?? ((v as string[]).every(u => /^wss?:\/\/[^/\s]/i.test(u)) ? undefined : 'must be ws:// or wss:// URLs')
const hostPort = (v: unknown): string | undefined => isString(v) ?? (parseHostPort(v as string) ? undefined : 'must be host:port')

const SPEC: OptionSpec<Required<ServiceKeys>> = {
  port: integerIn(0, 65535),
  listenInterface: isString,
  outgoingInterface: isString,
  loadPath: isString,
  watch: isBoolean,
  proxy: hostPort,
  listen: isBoolean,
  utp: isBoolean,
  discovery: objectOrFalse,
  http: v => typeof v === 'object' && v !== null ? undefined : 'must be an object ({ port })',
  webSeedCheck: objectOrBoolean,
  wsTrackers: wsUrls,
  webrtc: objectOrBoolean,
  sources: v => typeof v === 'object' && v !== null && stringList((v as SourcesOptions).locations) === undefined ? undefined : 'must be an object with `locations` (directories and http(s) URLs)'
}

/** The service's options, resolved: what each part is built from. */
export interface ResolvedServiceOptions {
  session: MetadataPeerOptions
  port: number
  listenInterface?: string
  outgoingInterface?: string
  loadPath?: string
  watch: boolean
  proxy?: string
  listen: boolean
  utp: boolean
  discovery: DiscoveryOptions | false
  http?: HttpOptions
  webSeedCheck: WebSeedHealthOptions | false
  wsTrackers: string[]
  /** The WebRTC part's options, or false when off. */
  webrtc: NodeWebRtcOptions | false
  /** Sources with `loadPath` first in `locations` and `watch` applied, or undefined without `sources`. */
  sources?: SourcesOptions
}

/** Resolves and checks the service's options; throws InvalidOptionError naming the option. */
export function resolveServiceOptions (options: TorrentFishOptions = {}): ResolvedServiceOptions {
  const session: Record<string, unknown> = {}
  const own: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(options)) ((SESSION_KEYS as readonly string[]).includes(k) ? session : own)[k] = v
  const o = resolveOptions('', { ...SERVICE_DEFAULTS } as Required<ServiceKeys>, { ...SPEC, ...Object.fromEntries(SESSION_KEYS.map(k => [k, anything])) } as OptionSpec<Required<ServiceKeys>>, own)
  const webrtc = o.webrtc === false ? false : o.webrtc === true ? {} : o.webrtc
  return {
    session: session as MetadataPeerOptions,
    port: o.port,
    listenInterface: o.listenInterface,
    outgoingInterface: o.outgoingInterface,
    loadPath: o.loadPath,
    watch: o.watch,
    proxy: o.proxy,
    listen: o.listen,
    utp: o.utp,
    discovery: o.discovery === false ? false : resolveDiscoveryOptions(o.discovery),
    http: o.http ? resolveHttpOptions(o.http) : undefined,
    webSeedCheck: o.webSeedCheck === true ? {} : o.webSeedCheck === undefined || o.webSeedCheck === false ? false : (resolveWebSeedHealthOptions(o.webSeedCheck), o.webSeedCheck),
    wsTrackers: o.wsTrackers,
    webrtc,
    sources: o.sources ? { watch: o.watch, ...o.sources, locations: [...(o.loadPath ? [o.loadPath] : []), ...o.sources.locations] } : undefined
  }
}
