/**
 * Keeps the scheduler in step with the session's torrents: every torrent, as it is added,
 * updated (its trackers changed) or removed, is announced to the targets it should go to.
 * Shared by the Node service (HTTP, UDP and WebSocket trackers, DHT, LSD) and the browser peer
 * (WebSocket trackers), so both announce through one paced path. Isomorphic.
 *
 * Which targets: the torrent's own trackers, then (public torrents only) the extra trackers
 * and extra targets such as the DHT and LSD. A private torrent (BEP 27) goes to its own
 * trackers and nowhere else, and only when private torrents are served at all.
 */
import type { AnnounceTarget } from './target.ts'
import type { AnnounceScheduler } from './scheduler.ts'

/** A torrent as the announcer sees it. */
export interface AnnouncedTorrent {
  readonly infoHash: string
  readonly name: string
  readonly private: boolean
  readonly announce: string[][]
}

type TorrentListener = (record: AnnouncedTorrent, ...rest: any[]) => void

/** The session's torrent events, the one source of torrent changes. */
export interface TorrentEventSource {
  readonly allowPrivate: boolean
  torrents (): Iterable<AnnouncedTorrent>
  /**
   * Optional: every torrent as views made one at a time. start() prefers it to torrents(),
   * which may build an array of every record: at 1M torrents that array keeps ~110 MB of views
   * alive through the whole walk, so V8 promotes them and its old space stays that much bigger.
   */
  readonly store?: { records (): Iterable<AnnouncedTorrent> }
  on (event: 'torrent-added' | 'torrent-removed' | 'torrent-updated', fn: TorrentListener): unknown
  off (event: 'torrent-added' | 'torrent-removed' | 'torrent-updated', fn: TorrentListener): unknown
  warn (code: string, message: string): void
}

export interface AnnouncerOptions {
  /** Announce to the trackers named in each torrent. */
  trackers: boolean
  /** Tracker URLs every public torrent also goes to. */
  extraTrackers: string[]
  /** Targets every public torrent also goes to (the DHT, LSD), read on each add. */
  extraTargets?: () => AnnounceTarget[]
  /** The target for a tracker URL; undefined when this announcer skips it; throws for unusable URLs. */
  targetFor: (url: string) => AnnounceTarget | undefined
}

/** Tracker URLs are compared without a trailing slash, as bittorrent-tracker does. */
export function normalizeTrackerUrl (url: string): string {
  const trimmed = url.trim()
  return trimmed.endsWith('/') ? trimmed.slice(0, -1) : trimmed
}

export class Announcer {
  private readonly source: TorrentEventSource
  private readonly scheduler: AnnounceScheduler
  private readonly options: AnnouncerOptions
  private readonly targets = new Map<string, AnnounceTarget | null>()
  private readonly onAdded: TorrentListener = r => this.add(r)
  private readonly onUpdated: TorrentListener = r => { if (!this.closed) this.scheduler.update(r.infoHash, this.targetsFor(r)) }
  private readonly onRemoved: TorrentListener = r => this.scheduler.remove(r.infoHash)
  private started = false
  private closed = false

  constructor (source: TorrentEventSource, scheduler: AnnounceScheduler, options: AnnouncerOptions) {
    this.source = source
    this.scheduler = scheduler
    this.options = { ...options, extraTrackers: [...new Set(options.extraTrackers.map(normalizeTrackerUrl))] }
  }

  /** Creates the extra trackers' targets now (so they report status before any torrent), then follows the session. */
  start (): void {
    if (this.started || this.closed) return
    this.started = true
    for (const url of this.options.extraTrackers) this.target(url)
    this.source.on('torrent-added', this.onAdded)
    this.source.on('torrent-updated', this.onUpdated)
    this.source.on('torrent-removed', this.onRemoved)
    for (const record of this.source.store?.records() ?? this.source.torrents()) this.add(record)
  }

  private target (url: string): AnnounceTarget | undefined {
    const key = normalizeTrackerUrl(url)
    const known = this.targets.get(key)
    if (known !== undefined) return known ?? undefined
    let target: AnnounceTarget | undefined
    try {
      target = this.options.targetFor(key)
    } catch (err) {
      const e = err as { code?: string, message?: string }
      this.source.warn(e.code ?? 'ERR_TRACKER_UNSUPPORTED', `tracker ignored: ${e.message ?? String(err)}`)
    }
    this.targets.set(key, target ?? null)
    return target
  }

  /** Which targets a torrent goes to. */
  targetsFor (record: AnnouncedTorrent): AnnounceTarget[] {
    if (record.private && !this.source.allowPrivate) return [] // refused to peers, so not advertised
    const out: AnnounceTarget[] = []
    const seen = new Set<string>()
    const push = (t: AnnounceTarget | undefined): void => { if (t && !seen.has(t.key)) { seen.add(t.key); out.push(t) } }
    if (this.options.trackers) for (const tier of record.announce) for (const url of tier) push(this.target(url))
    if (record.private) return out // BEP 27: its own trackers only; no DHT, LSD, PEX or extra trackers
    for (const url of this.options.extraTrackers) push(this.target(url))
    for (const t of this.options.extraTargets?.() ?? []) push(t)
    return out
  }

  private add (record: AnnouncedTorrent): void {
    if (this.closed) return
    const targets = this.targetsFor(record)
    if (record.private && this.source.allowPrivate && targets.length === 0) {
      this.source.warn('WARN_PRIVATE_NO_TRACKER', `${record.name} (${record.infoHash}) is private but names no usable tracker: BEP 27 rules out the DHT and LSD, so nobody can find it`)
    }
    if (targets.length > 0) this.scheduler.add(record.infoHash, targets)
  }

  /** Every target made so far (the scheduler closes the ones it adopted). */
  knownTargets (): AnnounceTarget[] {
    return [...this.targets.values()].filter((t): t is AnnounceTarget => t !== null)
  }

  /** Stops following the session; the scheduler's close sends the `stopped` announces. */
  close (): void {
    if (this.closed) return
    this.closed = true
    this.source.off('torrent-added', this.onAdded)
    this.source.off('torrent-updated', this.onUpdated)
    this.source.off('torrent-removed', this.onRemoved)
  }
}
