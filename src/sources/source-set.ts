/**
 * Every source of one torrent-fish, applied to it: the union of what they provide, filtered
 * to this instance's shard. Torrents of other shards are still known (location, file, name)
 * so the HTTP face can hand out their .torrent and name the shard that serves them. A torrent
 * two sources provide is served from the first and the second gets a duplicate warning.
 * Changes reach the service in order, one at a time (an add and a remove of one hash never
 * race).
 */
import { EventEmitter } from 'node:events'
import { readFile } from 'node:fs/promises'
import { DuplicateTorrentError } from '../core/errors.ts'
import { parseTorrent } from '../core/torrent.ts'
import type { SourceHost } from './host.ts'
import { owns, shardOf, formatShard, type Shard } from './shard.ts'
import type { SourceReport, SourceTorrent, SourceWarning, TorrentSource } from './source.ts'

/** Per info hash: which source and location provide it (two small fields: 1M of these must stay cheap). */
interface Known {
  /** Index into `sources`. */
  src: number
  location: string
  /** Served here (this shard's), else only known. */
  owned: boolean
}

export interface SourceSetEvents {
  warning: [SourceWarning]
  poll: [SourceReport]
  /** A torrent was applied (added, replaced or removed) to the service or to the other-shard index. */
  applied: [kind: 'added' | 'replaced' | 'removed', location: string, infoHash: string, owned: boolean]
}

export interface SourcesHealth {
  shard: string | null
  /** Torrents the sources provide that other shards serve. */
  otherShards: number
  sources: SourceReport[]
}

export class SourceSet extends EventEmitter<SourceSetEvents> {
  readonly shard: Shard | undefined
  readonly sources: TorrentSource[] = []
  private readonly fish: SourceHost
  private readonly known = new Map<string, Known>()
  private chain: Promise<void> = Promise.resolve()
  private otherCount = 0
  private readonly polled = new Set<number>()

  /** Every source has finished its first poll or scan (the initial load is over). */
  get synced (): boolean { return this.polled.size === this.sources.length }

  constructor (fish: SourceHost, shard?: Shard) {
    super()
    this.fish = fish
    this.shard = shard && shard.count > 1 ? shard : undefined
  }

  /** Adds a source and listens to it (call before `start`). */
  add (source: TorrentSource): void {
    const src = this.sources.length
    this.sources.push(source)
    source.on('added', t => this.onAdded(src, t))
    source.on('replaced', (t, previous) => this.onReplaced(src, t, previous))
    source.on('removed', (location, infoHash) => this.onRemoved(src, location, infoHash))
    source.on('known', (location, infoHash) => this.onKnown(src, location, infoHash))
    source.on('warning', w => this.emit('warning', w))
    // Re-emitted once the poll's changes have reached the service, so listeners see them applied.
    source.on('poll', r => { void this.idle().then(() => { this.polled.add(src); this.emit('poll', r) }) })
  }

  /** Starts every source (directory scans, caches), in order, and waits until applied. */
  async start (): Promise<void> {
    for (const s of this.sources) await s.start()
    await this.idle()
  }

  /** Resolves once every change so far has reached the service. */
  async idle (): Promise<void> {
    let seen: Promise<void>
    do { seen = this.chain; await seen } while (seen !== this.chain)
  }

  /** The shard that serves a hash (1 without sharding). */
  shardOf (infoHash: string): number {
    return this.shard ? shardOf(infoHash, this.shard.count) : 1
  }

  /**
   * A torrent some source provides that another shard serves: its .torrent bytes when a file
   * holds them here (a directory, the cache), else the URL it is published at (to redirect to).
   */
  async otherShardTorrent (infoHash: string): Promise<{ shard: number, name: string, bytes: Uint8Array } | { shard: number, url: string } | undefined> {
    const hash = infoHash.toLowerCase()
    const k = this.known.get(hash)
    if (!k || k.owned) return undefined
    const shard = this.shardOf(hash)
    const file = this.sources[k.src].fileOf(k.location)
    const bytes = file ? await readFile(file).then(b => new Uint8Array(b), () => undefined) : undefined
    if (bytes) {
      const parsed = await parseTorrent(bytes, file).catch(() => undefined)
      if (parsed?.infoHash === hash) return { shard, name: parsed.name, bytes }
    }
    return /^https?:/i.test(k.location) ? { shard, url: k.location } : undefined
  }

  health (): SourcesHealth {
    return { shard: this.shard ? formatShard(this.shard) : null, otherShards: this.otherCount, sources: this.sources.map(s => s.report()) }
  }

  private run (fn: () => Promise<void>): void {
    // After close the service takes no more torrents: what a source still reports is dropped.
    this.chain = this.chain.then(async () => { if (!this.fish.closed) await fn() }).catch(err => { if (!this.fish.closed) this.fish.warnError(err, 'sources') })
  }

  private checkDuplicate (src: number, t: SourceTorrent): void {
    const k = this.known.get(t.parsed.infoHash)
    if (k && !(k.src === src && k.location === t.location)) {
      throw new DuplicateTorrentError(t.parsed.infoHash, k.location, t.location)
    }
  }

  private onAdded (src: number, t: SourceTorrent): void {
    this.checkDuplicate(src, t)
    this.put(src, t)
  }

  private onReplaced (src: number, t: SourceTorrent, previous: string): void {
    this.checkDuplicate(src, t)
    if (previous !== t.parsed.infoHash) this.drop(src, t.location, previous)
    this.put(src, t)
  }

  private onRemoved (src: number, location: string, infoHash: string): void {
    this.drop(src, location, infoHash)
  }

  private onKnown (src: number, location: string, infoHash: string): void {
    const k = this.known.get(infoHash)
    if (k && !(k.src === src && k.location === location)) return
    if (!k) this.otherCount += 1
    this.known.set(infoHash, { src, location, owned: false })
    this.emit('applied', k ? 'replaced' : 'added', location, infoHash, false)
  }

  private put (src: number, t: SourceTorrent): void {
    const { parsed, location } = t
    const infoHash = parsed.infoHash
    const owned = owns(this.shard, infoHash)
    const before = this.known.get(infoHash)
    if (!owned) {
      if (!before || before.owned) this.otherCount += 1
      this.known.set(infoHash, { src, location, owned: false })
      this.emit('applied', before ? 'replaced' : 'added', location, infoHash, false)
      return
    }
    if (before && !before.owned) this.otherCount -= 1
    this.known.set(infoHash, { src, location, owned: true })
    // Unpinned: the store keeps the record's small fields and re-reads `parsed.source` on demand.
    this.run(async () => {
      const replace = this.fish.store.has(infoHash)
      await this.fish.addTorrent(parsed, { pin: false, replace: true })
      this.emit('applied', replace ? 'replaced' : 'added', location, infoHash, true)
    })
  }

  private drop (src: number, location: string, infoHash: string): void {
    const k = this.known.get(infoHash)
    if (!k || k.src !== src || k.location !== location) return
    this.known.delete(infoHash)
    if (!k.owned) {
      this.otherCount -= 1
      this.emit('applied', 'removed', location, infoHash, false)
      return
    }
    this.run(async () => {
      this.fish.removeTorrent(infoHash)
      this.emit('applied', 'removed', location, infoHash, true)
    })
  }

  async close (): Promise<void> {
    for (const s of this.sources) await s.close()
    await this.idle().catch(() => {})
  }
}
