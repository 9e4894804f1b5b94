/**
 * `torrent-fish [options]`: serve the metadata of every torrent in the load path until
 * SIGINT/SIGTERM. Flags and defaults follow the original torrent-fish.
 */
import { createTorrentFish, type TorrentFish, type TorrentFishOptions } from '../node/torrent-fish.ts'
import type { Logger } from './log.ts'
import { discoveryOptions, type DiscoveryArgs } from './discovery-flags.ts'
import { sourceOptions, type SourceArgs } from './source-flags.ts'

export interface ServeArgs extends DiscoveryArgs, SourceArgs {
  port: number
  listenInterface?: string
  outgoingInterface?: string
  maxDownloadRate: number
  maxUploadRate: number
  connections_limit: number
  proxyHost?: string
  allowPrivate?: boolean
  watch: boolean
  perIpLimit?: number
  http?: { host?: string, port: number }
  publicUrl?: string
  adminToken?: string
  /** Seconds between web seed checks, or true for the default. */
  checkWebSeeds?: number | boolean
  /** `--ws-tracker`, `--no-webrtc`, `--webrtc-offers`. */
  wsTracker?: string[]
  webrtc?: boolean
  webrtcOffers?: number
}

/** kB/s on the command line (0 = unlimited) -> bytes/s for the library. */
const KB = 1000

export function serveOptions (args: ServeArgs): TorrentFishOptions {
  return {
    port: args.port,
    listenInterface: args.listenInterface,
    outgoingInterface: args.outgoingInterface,
    downloadRateLimit: args.maxDownloadRate * KB,
    uploadRateLimit: args.maxUploadRate * KB,
    connectionLimit: args.connections_limit,
    perIpLimit: args.perIpLimit,
    ...sourceOptions(args),
    proxy: args.proxyHost,
    allowPrivate: args.allowPrivate === true,
    watch: args.watch,
    http: args.http ? { ...args.http, publicUrl: args.publicUrl, token: args.adminToken } : undefined,
    webSeedCheck: typeof args.checkWebSeeds === 'number' ? { intervalMs: args.checkWebSeeds * 1000 } : args.checkWebSeeds === true,
    ...discoveryOptions(args),
    wsTrackers: args.wsTracker,
    webrtc: args.webrtc === false ? false : args.webrtcOffers ? { offersPerAnnounce: args.webrtcOffers } : undefined
  }
}

/** Wires the service's events to the log. */
export function logEvents (fish: TorrentFish, log: Logger): void {
  fish.on('warning', w => log.warn('warning', w.message, { code: w.code, infoHash: w.infoHash, source: w.source }))
  // Each torrent of the initial scan at debug level (there may be 100k); later ones at info.
  fish.on('torrent-added', r => log.log(((fish.options.loadPath || fish.options.sources) && fish.lastScan === null) || (fish.sources && !fish.sources.synced) ? 'debug' : 'info', 'torrent-added', `loaded ${r.name} (${r.infoHash}) from ${r.source ?? 'memory'}`, { infoHash: r.infoHash, name: r.name, source: r.source }))
  fish.on('torrent-removed', r => log.info('torrent-removed', `removed ${r.name} (${r.infoHash})`, { infoHash: r.infoHash, name: r.name }))
  // Per-connection lines only when asked for: building them for every peer costs CPU per exchange.
  if (log.verbose) fish.on('peer', p => log.debug('peer', `peer ${p.remoteAddress}:${p.remotePort} over ${p.transport} for ${p.infoHash}`, { ...p }))
  if (log.verbose) fish.on('peer-close', p => log.debug('peer-close', `closed ${p.remoteAddress}:${p.remotePort} (${p.transport}): ${p.reason} during ${p.op}${p.message ? `: ${p.message}` : ''}`, { ...p }))
  fish.on('metadata-served', e => {
    const name = fish.getTorrent(e.infoHash)?.name ?? e.infoHash
    log.info('metadata-served', `served metadata of ${name} (${e.infoHash}) to ${e.peer.remoteAddress ?? 'peer'}:${e.peer.remotePort ?? ''} over ${e.peer.transport}`, { infoHash: e.infoHash, peer: e.peer })
  })
}

/** Starts serving; resolves with the running service (the CLI keeps the process alive). */
export async function start (args: ServeArgs, log: Logger): Promise<TorrentFish> {
  const fish = await createTorrentFish(serveOptions(args), f => logEvents(f, log))
  const scan = fish.lastScan
  const from = Array.isArray(args.loadPath) ? args.loadPath.join(', ') : args.loadPath
  if (scan) {
    log.info('loaded', `loaded ${scan.loaded} torrents from ${from}${scan.failed ? `, ${scan.failed} failed` : ''}${scan.ignored ? `, ${scan.ignored} other files ignored` : ''}`, { ...scan, loadPath: args.loadPath })
    if (fish.sources) logSources(fish, log)
  } else {
    log.warn('no-load-path', 'no load path (-l): serving no torrents; add .torrent files with -l DIR')
  }
  fish.webSeedHealth?.on('change', (now, before) => {
    if (now.status === 'ok' && before) log.info('web-seed-ok', `web seed of ${now.name} (${now.infoHash}) is ok again`, { infoHash: now.infoHash })
  })
  if (fish.coverage) {
    const { describeCoverage } = await import('../sources/coverage.ts')
    const c = fish.coverage.report()
    log.log(c.ok ? 'info' : 'warn', 'announce-coverage', describeCoverage(c), { rate: c.rate, neededRate: c.neededRate, neededShards: c.neededShards, covered: c.covered })
  }
  if (fish.http) {
    const base = fish.http.publicUrl ?? fish.http.url
    log.info('http', `.torrent files for xs= at ${base}/<infohash>.torrent; status page ${base}/${args.adminToken ? '; POST/DELETE /torrents enabled' : ''}`, { url: fish.http.url, publicUrl: fish.http.publicUrl })
  }
  for (const t of fish.listening()) {
    log.info('listening', `listening on ${t.name} ${t.address.includes(':') ? `[${t.address}]` : t.address}:${t.port}`, { transport: t.name, address: t.address, port: t.port })
  }
  return fish
}

/** The shard and each source's polls in the log. */
function logSources (fish: TorrentFish, log: Logger): void {
  const set = fish.sources!
  const h = set.health()
  if (h.shard) log.info('shard', `shard ${h.shard}: serving and announcing ${fish.store.size} torrents, ${h.otherShards} known for other shards`, { shard: h.shard, torrents: fish.store.size, otherShards: h.otherShards })
  const firstPoll = new Set<string>()
  set.on('poll', r => {
    if (!firstPoll.has(r.source) && fish.coverage) {
      // The torrents of a remote source arrive with its first poll: say what coverage is then.
      firstPoll.add(r.source)
      void import('../sources/coverage.ts').then(({ describeCoverage }) => {
        const c = fish.coverage!.report()
        log.log(c.ok ? 'info' : 'warn', 'announce-coverage', describeCoverage(c), { rate: c.rate, neededRate: c.neededRate, neededShards: c.neededShards, covered: c.covered })
      })
    }
    log.log(r.ok ? 'debug' : 'warn', 'source-poll', `${r.source}: ${r.ok ? 'ok' : `failed: ${r.error}`}, ${r.torrents} torrents${r.failing ? `, ${r.failing} failing` : ''}`, { ...r })
  })
  set.on('applied', (kind, location, infoHash, owned) => {
    if (!owned) log.debug('other-shard', `${kind} ${infoHash} (${location}): shard ${set.shardOf(infoHash)}`, { infoHash, location })
  })
}
