/**
 * Discovery's options: the type, the library defaults (the CLI turns the DHT and LSD on) and
 * the validator. Apart from discovery.ts so the service checks them at construction without
 * loading the discovery libraries.
 */
import type { PeerDialerOptions } from './peer-dialer.ts'
import type { EmbeddedTrackerOptions } from './embedded-tracker.ts'
import type { SchedulerOptions } from '../announce/scheduler.ts'
import { resolveOptions, isBoolean, stringList, numberIn, integerIn, type OptionSpec } from '../util/options.ts'

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

/** Defaults of {@link DiscoveryOptions} in the library (the CLI turns the DHT and LSD on), each with its reason. */
export const DISCOVERY_DEFAULTS = {
  /** A torrent's own trackers are where its leechers look first. */
  trackers: true,
  extraTrackers: [] as string[],
  /** A library user embedding torrent-fish should not join the public DHT without asking. */
  dht: false,
  /** Multicast on someone's LAN is opt-in in the library, for the same reason. */
  lsd: false,
  /** Leechers behind NAT can only be reached by dialing them. */
  outgoing: true as boolean | PeerDialerOptions
}

const SPEC: OptionSpec<Required<DiscoveryOptions>> = {
  trackers: isBoolean,
  extraTrackers: stringList,
  announceRate: numberIn(0.001, 1_000_000),
  dht: isBoolean,
  dhtBootstrap: v => v === false || stringList(v) === undefined ? undefined : 'must be host:port strings or false',
  dhtPort: integerIn(0, 65535),
  stateDir: v => typeof v === 'string' ? undefined : 'must be a directory path',
  lsd: isBoolean,
  outgoing: v => typeof v === 'boolean' || (typeof v === 'object' && v !== null) ? undefined : 'must be true, false or dialer limits',
  embeddedTracker: v => typeof v === 'boolean' || typeof v === 'object' || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535) ? undefined : 'must be true, a port or options',
  scheduler: v => typeof v === 'object' && v !== null ? undefined : 'must be scheduler options'
}

/** Checks discovery options; unknown names and bad values throw InvalidOptionError (`discovery.x`). */
export function resolveDiscoveryOptions (options: DiscoveryOptions = {}): DiscoveryOptions {
  return resolveOptions('discovery', DISCOVERY_DEFAULTS as DiscoveryOptions, SPEC, options as Record<string, unknown>)
}
