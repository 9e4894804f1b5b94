/**
 * The discovery and uTP flags of `torrent-fish` (serve), and their mapping to library
 * options. On the command line discovery is on by default (trackers, DHT, LSD, uTP); each
 * part has a `--no-` flag.
 */
import { Option, InvalidArgumentError, type Command } from 'commander'
import { integer, hostPort, collect } from './parse.ts'
import type { TorrentFishOptions } from '../node/torrent-fish.ts'
import { defaultStateDir } from '../node/state-dir.ts'
import { AUTO_RATE } from '../announce/scheduler.ts'
import { EMBEDDED_TRACKER_DEFAULT_PORT } from '../discovery/embedded-tracker.ts'

export interface DiscoveryArgs {
  tracker?: string[]
  dht?: boolean
  dhtBootstrap?: string[]
  lsd?: boolean
  utp?: boolean
  announce?: boolean
  announceRate?: number
  embeddedTracker?: number | true
  stateDir?: string
}

function trackerUrl (value: string, previous: string[] = []): string[] {
  if (!/^(https?|udp|wss?):\/\/[^/\s]+/i.test(value.trim())) throw new InvalidArgumentError(`expected an http(s)://, udp:// or ws(s):// tracker URL, got "${value}".`)
  return collect(value.trim(), previous)
}

function bootstrapNode (value: string, previous: string[] = []): string[] {
  if (value.trim().toLowerCase() === 'none') return collect('none', previous)
  return collect(hostPort(value), previous)
}

/** Adds the flags to the serve command. */
export function addDiscoveryFlags (program: Command): Command {
  return program
    .option('--tracker <url>', 'also announce every public torrent to this tracker, repeatable', trackerUrl)
    .option('--no-announce', 'do not announce to the trackers named in the torrents')
    .option('--no-dht', 'do not run a DHT node')
    .option('--dht-bootstrap <host:port>', 'DHT bootstrap node, repeatable; "none" for a private DHT (default: the public routers)', bootstrapNode)
    .option('--no-lsd', 'no Local Service Discovery (LAN multicast)')
    .option('--no-utp', 'no uTP, TCP only')
    // No commander default: without the flag the service picks the rate from the torrent count.
    .option('--announce-rate <n>', `announces per second, trackers + DHT + LSD together (default: ${AUTO_RATE.floor}, raised with the torrent count up to ${AUTO_RATE.cap} so every torrent stays findable)`, integer(1, 100_000))
    .addOption(new Option('--embedded-tracker [port]', `run an HTTP + UDP + WebSocket tracker in this process (default port ${EMBEDDED_TRACKER_DEFAULT_PORT}) and announce to it`).argParser(integer(0, 65535)))
    .option('--state-dir <dir>', `where the DHT node id and routing table are kept (default: ${defaultStateDir()})`)
}

/** Library options for the flags (absent flags: the CLI defaults, discovery on). */
export function discoveryOptions (args: DiscoveryArgs): Pick<TorrentFishOptions, 'utp' | 'discovery'> {
  const bootstrap = args.dhtBootstrap === undefined ? undefined : args.dhtBootstrap.includes('none') ? false as const : args.dhtBootstrap
  return {
    utp: args.utp !== false,
    discovery: {
      trackers: args.announce !== false,
      extraTrackers: args.tracker ?? [],
      announceRate: args.announceRate,
      dht: args.dht !== false,
      dhtBootstrap: bootstrap,
      lsd: args.lsd !== false,
      stateDir: args.stateDir ?? defaultStateDir(),
      embeddedTracker: args.embeddedTracker === undefined ? undefined : args.embeddedTracker === true ? EMBEDDED_TRACKER_DEFAULT_PORT : args.embeddedTracker
    }
  }
}
