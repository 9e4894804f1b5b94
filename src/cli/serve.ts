/**
 * `torrent-fish [options]`: serve the metadata of every torrent in the load path until
 * SIGINT/SIGTERM. Flags and defaults follow the original torrent-fish.
 */
import { stat, access, constants as fsConstants } from 'node:fs/promises'
import path from 'node:path'
import { createTorrentFish, type TorrentFish, type TorrentFishOptions } from '../node/torrent-fish.ts'
import { LEVELS, type Logger } from './log.ts'
import { ExchangeLog, type ExchangeFeed } from './exchange-log.ts'
import { systemClock } from '../util/clock.ts'
import type { MetadataServedEvent } from '../core/metadata-peer.ts'
import { discoveryOptions, type DiscoveryArgs } from './discovery-flags.ts'
import { sourceOptions, type SourceArgs } from './source-flags.ts'
import { DirectorySource } from '../sources/directory-source.ts'
import { capYoungGeneration } from '../node/young-generation.ts'
import { capOldGenerationGrowth } from '../node/old-generation.ts'

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
  /** `--cache-size`: bytes of info dicts kept in memory. */
  cacheSize?: number
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
    ...(args.cacheSize !== undefined ? { store: { cacheBytes: args.cacheSize } } : {}),
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
  fish.on('torrent-added', r => {
    const level = ((fish.options.loadPath || fish.options.sources) && fish.lastScan === null) || (fish.sources && !fish.sources.synced) ? 'debug' : 'info'
    // Not even built when not printed: 100k lines of garbage would inflate the heap during the scan.
    if (level === 'debug' && !log.verbose) return
    log.log(level, 'torrent-added', `loaded ${r.name} (${r.infoHash}) from ${r.source ?? 'memory'}`, { infoHash: r.infoHash, name: r.name, source: r.source })
  })
  fish.on('torrent-updated', r => log.info('torrent-updated', `updated ${r.name} (${r.infoHash}) from ${r.source ?? 'memory'}; its peers stay connected`, { infoHash: r.infoHash, name: r.name, source: r.source }))
  fish.on('torrent-removed', r => log.info('torrent-removed', `removed ${r.name} (${r.infoHash})`, { infoHash: r.infoHash, name: r.name }))
  // Per-connection lines only when asked for: building them for every peer costs CPU per exchange.
  if (log.verbose) fish.on('peer', p => log.debug('peer', `peer ${p.remoteAddress}:${p.remotePort} over ${p.transport} for ${p.infoHash}`, { ...p }))
  if (log.verbose) fish.on('peer-close', p => log.debug('peer-close', `closed ${p.remoteAddress}:${p.remotePort} (${p.transport}): ${p.reason} during ${p.op}${p.message ? `: ${p.message}` : ''}`, { ...p }))
  // A line per exchange up to EXCHANGE_LINES_PER_WINDOW a second, then one summary (every line with -v):
  // the line is on the hot path, so it is built only when printed, its fields only for JSON.
  if (LEVELS.indexOf(log.level) > LEVELS.indexOf('info')) return
  const onServed = (e: MetadataServedEvent): void => exchanges.served1(e, e.peer.transport)
  const feed: ExchangeFeed = {
    pause: () => { fish.off('metadata-served', onServed) },
    resume: () => { fish.on('metadata-served', onServed) },
    servedByTransport: () => fish.stats.servedByTransport()
  }
  const exchanges = new ExchangeLog<MetadataServedEvent>(log.verbose, e => {
    log.info('metadata-served', `served metadata of ${e.name} (${e.infoHash}) to ${e.peer.remoteAddress ?? 'peer'}:${e.peer.remotePort ?? ''} over ${e.peer.transport}`, log.json ? { infoHash: e.infoHash, peer: e.peer } : undefined)
  }, s => {
    const by = Object.entries(s.byTransport).map(([t, n]) => `${n} over ${t}`).join(', ')
    log.info('metadata-served-summary', `served metadata ${s.served} times in ${(s.ms / 1000).toFixed(1)} s (${by}); ${s.logged} logged one by one, -v logs each`, { served: s.served, logged: s.logged, byTransport: s.byTransport, ms: s.ms })
  }, systemClock, feed)
  fish.on('metadata-served', onServed)
  fish.once('close', () => exchanges.flush())
}

/** A `-l` that cannot be served: the message names the flag and the path. */
export class LoadPathError extends Error {
  readonly code = 'ERR_LOAD_PATH'
  readonly path: string
  constructor (dir: string, problem: string) {
    super(`-l/--load-path ${dir}: ${problem}`)
    this.name = 'LoadPathError'
    this.path = dir
  }
}

/** Checks `-l` before loading, so its problems name the flag, not a syscall (`ENOENT ... scandir`). */
export async function checkLoadPath (dir: string): Promise<void> {
  if (/^https?:\/\//i.test(dir)) return // a remote torrent source, checked when polled
  const full = path.resolve(dir)
  let info
  try {
    info = await stat(full)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new LoadPathError(dir, `no such directory${full !== dir ? ` (${full})` : ''}`)
    if (code === 'EACCES') throw new LoadPathError(dir, 'permission denied (a parent directory cannot be searched)')
    if (code === 'ENOTDIR') throw new LoadPathError(dir, 'a part of the path is a file, not a directory')
    throw new LoadPathError(dir, (err as Error).message)
  }
  if (!info.isDirectory()) throw new LoadPathError(dir, 'not a directory (give the directory holding the .torrent files)')
  try {
    await access(full, fsConstants.R_OK | fsConstants.X_OK)
  } catch {
    throw new LoadPathError(dir, 'permission denied (the directory cannot be read)')
  }
}

/**
 * Starts serving; resolves with the running service (the CLI keeps the process alive).
 * @param stop aborted when the process is told to stop while it starts: the first scan ends at
 *   the next file (what it loaded is served until the caller closes the service).
 */
export async function start (args: ServeArgs, log: Logger, stop?: AbortSignal): Promise<TorrentFish> {
  capYoungGeneration() // bounded memory however node was started (see young-generation.ts)
  capOldGenerationGrowth() // promoted garbage collected sooner (see old-generation.ts)
  for (const dir of Array.isArray(args.loadPath) ? args.loadPath : args.loadPath ? [args.loadPath] : []) await checkLoadPath(dir)
  const fish = await createTorrentFish(serveOptions(args), f => {
    logEvents(f, log)
    if (stop?.aborted) f.loader?.stopScan()
    else stop?.addEventListener('abort', () => f.loader?.stopScan(), { once: true })
  })
  const scan = fish.lastScan
  const from = Array.isArray(args.loadPath) ? args.loadPath.join(', ') : args.loadPath
  if (scan) {
    log.info('loaded', `loaded ${scan.loaded} torrents from ${from}${scan.failed ? `, ${scan.failed} failed` : ''}${scan.ignored ? `, ${scan.ignored} other files ignored` : ''}${'stopped' in scan && scan.stopped ? ' (scan stopped: shutting down)' : ''}`, { ...scan, loadPath: args.loadPath })
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
  logReady(fish, args, log)
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

/**
 * SIGHUP rescans the load path, as daemons reload on it (Node's default is to exit). Returns
 * a function that removes the handler.
 */
export function handleSighup (fish: TorrentFish, log: Logger): () => void {
  const onHup = (): void => {
    // With several -l, each local directory is a source with its own loader.
    const loaders = fish.loader ? [fish.loader] : (fish.sources?.sources ?? []).flatMap(s => s instanceof DirectorySource ? [s.loader] : [])
    if (loaders.length === 0) return log.info('rescan', 'SIGHUP: no load path to rescan')
    for (const loader of loaders) {
      loader.rescan().then(
        r => log.info('rescan', `SIGHUP: rescanned ${loader.dir}: ${r.loaded} loaded, ${r.removed} removed, ${r.failed} failed, ${r.unchanged} unchanged${r.missing ? ' (load path missing)' : ''}`, { ...r, loadPath: loader.dir }),
        err => log.error('rescan-failed', `SIGHUP: rescanning ${loader.dir} failed: ${(err as Error).message}`))
    }
  }
  process.on('SIGHUP', onHup)
  return () => { process.off('SIGHUP', onHup) }
}

/** The last start line: how many torrents are served, and where a user gets their magnets. */
function logReady (fish: TorrentFish, args: ServeArgs, log: Logger): void {
  const count = fish.store.size // not torrents().length: that builds a view of every torrent at once (~110 MB at 1M, promoted and kept by V8)
  const statusPage = fish.http ? `${fish.http.publicUrl ?? fish.http.url}/` : undefined
  const local = (Array.isArray(args.loadPath) ? args.loadPath : args.loadPath ? [args.loadPath] : []).find(l => !/^https?:\/\//i.test(l))
  const file = local ? path.join(local, '<name>.torrent') : '<file>.torrent'
  const where = [`torrent-fish magnet ${file}`, ...(statusPage ? [`the status page ${statusPage}`] : [])].join(', or ')
  log.info('ready', `serving ${count} torrent${count === 1 ? '' : 's'}; magnets that work with it: ${where}`, { torrents: count, statusPage, magnetCommand: `torrent-fish magnet ${file}` })
}
