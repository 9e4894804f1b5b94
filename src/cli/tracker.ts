/**
 * `torrent-fish tracker`: a standalone HTTP + UDP + WebSocket tracker (bittorrent-tracker's
 * server), so magnets from torrent-fish work with no outside service. Runs until SIGINT or
 * SIGTERM.
 */
import { startEmbeddedTracker, type EmbeddedTracker } from '../discovery/embedded-tracker.ts'
import type { Logger } from './log.ts'

export interface TrackerArgs {
  port: number
  host?: string
  interval: number
  trustProxy?: boolean
  stats: boolean
}

export async function start (args: TrackerArgs, log: Logger): Promise<EmbeddedTracker> {
  const tracker = await startEmbeddedTracker({
    port: args.port,
    host: args.host,
    intervalMs: args.interval * 1000,
    trustProxy: args.trustProxy === true,
    stats: args.stats
  })
  log.info('tracker-listening', `tracker on ${tracker.httpUrl} ${tracker.udpUrl} ${tracker.wsUrl}`, { http: tracker.httpUrl, udp: tracker.udpUrl, ws: tracker.wsUrl, port: tracker.port, udpPort: tracker.udpPort })
  return tracker
}

/** Runs the tracker until a signal; resolves with the exit code. */
export async function run (args: TrackerArgs, log: Logger, signals: boolean): Promise<number> {
  let tracker: EmbeddedTracker
  try {
    tracker = await start(args, log)
  } catch (err) {
    log.error('start-failed', (err as Error).message)
    return 1
  }
  if (!signals) { await tracker.close(); return 0 }
  return await new Promise<number>(resolve => {
    const stop = (signal: string): void => {
      log.info('shutdown', `${signal}: closing`)
      tracker.close().then(() => resolve(0), () => resolve(1))
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
}
