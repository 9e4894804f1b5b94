/**
 * The announce-target contract: somewhere torrents are announced (one tracker URL over HTTP,
 * UDP or WebSocket, the DHT, LSD). The scheduler paces every target through one budget; a
 * target only knows how to make one announce. Isomorphic.
 */

export type AnnounceEvent = 'started' | 'update' | 'stopped'

/** What a target learned from one announce. */
export interface AnnounceOutcome {
  /** How long the target asks us to wait before the next announce. */
  intervalMs?: number
  /** The shortest wait the target allows. */
  minIntervalMs?: number
  /** Peers as `host:port` (IPv6 as `[addr]:port`). */
  peers: string[]
  seeders?: number
  leechers?: number
}

export interface AnnounceTarget {
  /** The tracker URL, or `dht` / `lsd`. */
  readonly key: string
  /** Announces of this target running at once, at most. */
  readonly maxInFlight: number
  /** Interval used when the target names none. */
  readonly defaultIntervalMs: number
  /** Whether a `stopped` announce means anything to it (trackers: yes; DHT: no). */
  readonly sendsStopped: boolean
  announce (infoHash: string, event: AnnounceEvent, signal: AbortSignal): Promise<AnnounceOutcome>
  /**
   * Optional, for a target that announces many torrents in one message that cannot hang (LSD:
   * multicast datagrams, each a send with no answer to wait for). The scheduler then hands it
   * every job of one pacer pass in one call, with no timeout, AbortSignal or promise per
   * announce: each announce still takes one slot of the rate budget. The promise settles once
   * every message is sent (or failed) and every torrent in it gets that outcome. Only for
   * targets that never send `stopped` (the event is not passed).
   */
  announceBatch? (infoHashes: readonly string[]): Promise<AnnounceOutcome>
  /**
   * Called once by the scheduler that adopts the target: `reannounce()` asks for every torrent
   * of this target to be announced again soon (a WebSocket tracker forgets a socket's torrents
   * when the socket drops).
   */
  attach? (hooks: { reannounce: () => void }): void
  close? (): Promise<void> | void
}
