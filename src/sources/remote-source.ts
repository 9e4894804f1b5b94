/**
 * A torrent source on a web server: a directory listing, a feed or a manifest (see
 * index-parsers.ts), polled every `pollIntervalMs`. Each poll reads the index with
 * conditional requests, fetches .torrent URLs that are new, whose listing row changed, or
 * whose turn it is to be revalidated (a bounded number per poll, round robin), through a gate
 * that bounds concurrency and request rate. A failed poll keeps everything served and retries
 * with backoff and jitter; a failed .torrent keeps its last good bytes. Everything fetched is
 * cached on disk, so a restart serves at once even while the server is down.
 */
import { EventEmitter } from 'node:events'
import { parseTorrent } from '../core/torrent.ts'
import { MAX_TORRENT_FILE_SIZE } from '../core/constants.ts'
import { backoffDelay } from '../util/backoff.ts'
import { systemClock, type Clock } from './clock.ts'
import { GatePool, GATE_DEFAULTS } from './gate.ts'
import { fetchLimited, torrentType, type FetchLimits } from './http-fetch.ts'
import { indexKind, indexTypeCheck, parseIndex, type IndexKind, type ParsedIndex } from './index-parsers.ts'
import { TorrentCache, type CachedEntry } from './torrent-cache.ts'
import { SourceError } from './errors.ts'
import type { SourceEvents, SourceReport, TorrentSource } from './source.ts'

export interface RemoteSourceOptions {
  /** Where fetched .torrent files are kept across restarts (one subdirectory per source). */
  cacheDir: string
  /** Seconds between polls, in ms (default 300 000: five minutes). */
  pollIntervalMs?: number
  /** Requests in flight at once to one origin (default 8). */
  concurrency?: number
  /** Requests started per second to one origin (default 1000). */
  rate?: number
  /** Gates shared with the instance's other sources (one per origin); default: this source's own. */
  gates?: GatePool
  /**
   * During a long poll (a cold first fill of 100k .torrent files), the cache index is saved at
   * most this often (default 60 s), so a restart after a crash keeps what was fetched.
   */
  checkpointMs?: number
  /** Known .torrent URLs revalidated (conditional GET) per poll, round robin (default 1000). */
  revalidatePerPoll?: number
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number
  /** Largest index page or manifest read (default 256 MiB: a JSON manifest of 1M entries with info hashes is ~150 MB). */
  maxIndexBytes?: number
  /** Largest .torrent read (default the .torrent cap, 16 MiB). */
  maxTorrentBytes?: number
  /** Redirects followed per request (default 5). */
  maxRedirects?: number
  /** Subdirectory listings followed at most (default 1000 pages, 4 levels). */
  maxPages?: number
  maxDepth?: number
  /** First retry after a failed poll, doubling with jitter up to `backoffMaxMs`. */
  backoffBaseMs?: number
  backoffMaxMs?: number
  /** Whether this instance wants a torrent (its shard); stated hashes it does not want are not fetched. */
  wanted?: (infoHash: string) => boolean
  /** Awaited now and then while the cache is read at start, so the listener keeps up (memory stays flat). */
  settled?: () => Promise<void>
  clock?: Clock
  random?: () => number
}

interface Entry extends CachedEntry {
  /** Consecutive failed fetches, and the poll of the last one (retries back off in polls). */
  failures: number
  failedAtPoll: number
  /** The last warning said about this URL, so it is said once. */
  warned?: string
  /** The info hash the index states for it (checked against the fetched file; not saved). */
  stated?: string
}

const DEFAULT_POLL_MS = 300_000

export class RemoteSource extends EventEmitter<SourceEvents> implements TorrentSource {
  readonly id: string
  readonly pollIntervalMs: number
  private kind: IndexKind | undefined
  private readonly o: Required<Omit<RemoteSourceOptions, 'clock' | 'random' | 'cacheDir' | 'pollIntervalMs' | 'concurrency' | 'rate' | 'wanted' | 'settled' | 'gates'>>
  private readonly clock: Clock
  private readonly wanted: (infoHash: string) => boolean
  private readonly settled: (() => Promise<void>) | undefined
  private readonly random: () => number
  private readonly gates: GatePool
  private readonly ownGates: boolean
  /** When the index was last saved, and how long that took (a checkpoint waits 20 times that). */
  private savedAt: number
  private saveCostMs = 0
  private readonly cache: TorrentCache
  private readonly limits: FetchLimits
  private readonly entries = new Map<string, Entry>()
  /** Validators and last parse of each index page, for conditional requests. */
  private readonly pages = new Map<string, { etag?: string, lastModified?: string, parsed: ParsedIndex }>()
  private readonly pendingDrops = new Set<string>()
  private readonly warnedIndex = new Set<string>()
  private cursor = 0
  private timer: unknown = null
  private running: Promise<SourceReport> | null = null
  private closed = false
  private consecutiveFailures = 0
  private state: SourceReport
  private readonly abort = new AbortController()

  constructor (url: string, options: RemoteSourceOptions) {
    super()
    this.id = url
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_MS
    this.clock = options.clock ?? systemClock
    this.random = options.random ?? Math.random
    this.wanted = options.wanted ?? (() => true)
    this.settled = options.settled
    this.o = {
      revalidatePerPoll: options.revalidatePerPoll ?? 1000,
      timeoutMs: options.timeoutMs ?? 30_000,
      maxIndexBytes: options.maxIndexBytes ?? 256 * 1024 * 1024,
      maxTorrentBytes: options.maxTorrentBytes ?? MAX_TORRENT_FILE_SIZE,
      maxRedirects: options.maxRedirects ?? 5,
      maxPages: options.maxPages ?? 1000,
      maxDepth: options.maxDepth ?? 4,
      backoffBaseMs: options.backoffBaseMs ?? Math.min(30_000, this.pollIntervalMs),
      backoffMaxMs: options.backoffMaxMs ?? Math.max(this.pollIntervalMs, 3600_000),
      checkpointMs: options.checkpointMs ?? 60_000
    }
    this.ownGates = options.gates === undefined
    this.gates = options.gates ?? new GatePool({ concurrency: options.concurrency, rate: options.rate, clock: this.clock })
    this.savedAt = this.clock.now()
    this.cache = new TorrentCache(options.cacheDir, url)
    this.limits = { timeoutMs: this.o.timeoutMs, maxRedirects: this.o.maxRedirects, clock: this.clock, signal: this.abort.signal }
    this.kind = indexKind(url)
    this.state = { source: url, kind: this.kind ?? 'listing', ok: null, torrents: 0, failing: 0, polls: 0, requests: 0, notModified: 0 }
  }

  report (): SourceReport {
    let torrents = 0
    let failing = 0
    let pending = 0
    for (const e of this.entries.values()) {
      if (e.infoHash !== undefined || e.hint !== undefined) torrents += 1
      else if (e.failures === 0) pending += 1
      if (e.failures > 0) failing += 1
    }
    return { ...this.state, torrents, failing, pending }
  }

  /** Serves what the cache holds, then polls now and every interval after. */
  async start (): Promise<void> {
    const index = this.cache.loadIndex()
    let fromCache = 0
    for (const c of index?.entries ?? []) {
      const e: Entry = { ...c, failures: 0, failedAtPoll: 0 }
      this.entries.set(c.url, e)
      if (c.hint !== undefined && !c.sha) { this.emit('known', c.url, c.hint); continue }
      if (!c.sha || !c.infoHash) continue
      try {
        const bytes = this.cache.read(c.sha)
        const parsed = await parseTorrent(bytes, c.url)
        if (parsed.infoHash !== c.infoHash) throw new Error('cached file does not match its index entry')
        this.emit('added', { location: c.url, parsed: { ...parsed, source: this.cache.fileFor(c.sha) } })
        fromCache += 1
        // 100k parsed torrents queued at once would hold every file's bytes until applied.
        if (fromCache % 256 === 0) await this.settled?.()
      } catch {
        // A damaged cache file is fetched again at the first poll.
        delete e.sha
        delete e.infoHash
      }
    }
    this.state.fromCache = fromCache
    this.schedule(0)
  }

  /** Runs one poll now (or joins the one running); resolves with the report after it. */
  async pollNow (): Promise<SourceReport> {
    this.running ??= this.poll().finally(() => { this.running = null })
    return await this.running
  }

  private schedule (delay: number): void {
    if (this.closed) return
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.state.nextPollAt = this.clock.now() + delay
    this.timer = this.clock.setTimeout(() => { this.timer = null; void this.pollNow() }, delay)
  }

  private warn (code: string, location: string, message: string): void {
    this.emit('warning', { code, message, location })
  }

  private async poll (): Promise<SourceReport> {
    const pollNo = ++this.state.polls
    for (const sha of this.pendingDrops) if (!this.referenced(sha)) this.cache.drop(sha)
    this.pendingDrops.clear()
    let dirty = false
    try {
      const listed = await this.readIndex()
      for (const [url, e] of this.entries) {
        if (listed.has(url)) continue
        this.entries.delete(url)
        dirty = true
        if (e.infoHash !== undefined) this.emit('removed', url, e.infoHash)
        else if (e.hint !== undefined) this.emit('removed', url, e.hint)
        if (e.sha) this.pendingDrops.add(e.sha)
      }
      const todo = new Set<Entry>()
      for (const [url, { fingerprint, infoHash: stated }] of listed) {
        let e = this.entries.get(url)
        if (stated !== undefined && !this.wanted(stated) && e?.sha === undefined) {
          // Another shard's torrent by the index's word: known, not fetched.
          if (e?.hint !== stated) {
            if (e?.hint !== undefined) this.emit('removed', url, e.hint)
            e = { url, hint: stated, failures: 0, failedAtPoll: 0 }
            this.entries.set(url, e)
            dirty = true
            this.emit('known', url, stated)
          }
          continue
        }
        if (e !== undefined && e.stated !== stated) { if (stated === undefined) delete e.stated; else e.stated = stated }
        if (e?.hint !== undefined) {
          // Wanted after all (the index changed its word): fetch it.
          this.emit('removed', url, e.hint)
          delete e.hint
        }
        if (!e) {
          e = { url, ...(fingerprint !== undefined ? { fingerprint } : {}), ...(stated !== undefined ? { stated } : {}), failures: 0, failedAtPoll: 0 }
          this.entries.set(url, e)
          dirty = true
          todo.add(e)
        } else if (e.failures > 0) {
          // Failing URLs are retried after 1, 2, 4 ... 64 polls.
          if (pollNo - e.failedAtPoll >= Math.min(64, 2 ** (e.failures - 1)) || fingerprint !== e.fingerprint) todo.add(e)
          if (fingerprint !== e.fingerprint) { e.fingerprint = fingerprint; dirty = true }
        } else if (e.sha === undefined || fingerprint !== e.fingerprint) {
          if (fingerprint !== e.fingerprint) { e.fingerprint = fingerprint; dirty = true }
          todo.add(e)
        }
      }
      this.pickRevalidations(todo)
      // As many workers as the gate lets run, pulling from the list: 100k URLs are 100k
      // entries, not 100k pending promises and closures.
      const list = [...todo]
      let next = 0
      const worker = async (): Promise<void> => {
        while (next < list.length && !this.closed) {
          const e = list[next++]
          if (await this.gates.gateFor(e.url).run(() => this.fetchTorrent(e))) dirty = true
          if (dirty && this.clock.now() - this.savedAt >= Math.max(this.o.checkpointMs, 20 * this.saveCostMs)) {
            this.saveIndex()
            dirty = false
          }
        }
      }
      await Promise.all(Array.from({ length: Math.min(list.length, this.gates.options.concurrency ?? GATE_DEFAULTS.concurrency) }, worker))
      this.consecutiveFailures = 0
      this.state.ok = true
      this.state.lastOkAt = this.clock.now()
      delete this.state.error
      this.schedule(this.pollIntervalMs)
    } catch (err) {
      if (this.closed) {
        // Closed mid-poll: keep what was fetched so far for the next start.
        if (dirty) this.saveIndex()
        return this.report()
      }
      this.consecutiveFailures += 1
      const message = (err as Error).message
      this.state.ok = false
      this.state.error = message
      const delay = backoffDelay(this.consecutiveFailures, { baseMs: this.o.backoffBaseMs, maxMs: this.o.backoffMaxMs }, this.random)
      if (this.consecutiveFailures === 1 || !this.warnedIndex.has(message)) {
        this.warnedIndex.clear()
        this.warnedIndex.add(message)
        this.warn((err as { code?: string }).code ?? 'ERR_SOURCE', this.id, `${message}; still serving the last good set (${this.report().torrents} torrents), retrying in ${delay < 10_000 ? (delay / 1000).toFixed(1) : Math.round(delay / 1000)} s`)
      }
      this.schedule(delay)
    } finally {
      this.state.lastPollAt = this.clock.now()
    }
    if (dirty) this.saveIndex()
    if (this.closed) return this.report()
    const report = this.report()
    this.emit('poll', report)
    return report
  }

  /** Adds up to `revalidatePerPoll` known URLs, continuing where the last poll stopped. */
  private pickRevalidations (todo: Set<Entry>): void {
    const budget = this.o.revalidatePerPoll
    if (budget <= 0 || this.entries.size === 0) return
    const keys = [...this.entries.keys()]
    let taken = 0
    for (let i = 0; i < keys.length && taken < budget; i++) {
      const e = this.entries.get(keys[(this.cursor + i) % keys.length])!
      if (todo.has(e) || e.sha === undefined || e.hint !== undefined) continue
      todo.add(e)
      taken += 1
    }
    this.cursor = (this.cursor + Math.max(taken, 1)) % keys.length
  }

  /** Reads the index (a listing follows its subdirectories): URL -> fingerprint. Throws on any failed page. */
  private async readIndex (): Promise<Map<string, { fingerprint?: string, infoHash?: string }>> {
    const listed = new Map<string, { fingerprint?: string, infoHash?: string }>()
    const queue: Array<{ url: string, depth: number }> = [{ url: this.id, depth: 0 }]
    const visited = new Set<string>([this.id])
    let pages = 0
    while (queue.length > 0) {
      const page = queue.shift()!
      pages += 1
      const parsed = await this.gates.gateFor(page.url).run(() => this.readPage(page.url))
      for (const e of parsed.entries) listed.set(e.url, e)
      if (parsed.broken.length > 0) {
        const text = `${parsed.broken.length} item${parsed.broken.length === 1 ? '' : 's'} without a usable .torrent skipped: ${parsed.broken.slice(0, 3).join('; ')}${parsed.broken.length > 3 ? '; ...' : ''}`
        if (!this.warnedIndex.has(text)) { this.warnedIndex.add(text); this.warn('WARN_SOURCE_BROKEN_ITEMS', page.url, `${page.url}: ${text}`) }
      }
      for (const sub of parsed.subdirs) {
        if (visited.has(sub) || page.depth + 1 > this.o.maxDepth) continue
        if (pages + queue.length >= this.o.maxPages) {
          const text = `more than ${this.o.maxPages} listing pages; the rest not read`
          if (!this.warnedIndex.has(text)) { this.warnedIndex.add(text); this.warn('WARN_SOURCE_TOO_MANY_PAGES', this.id, `${this.id}: ${text}`) }
          break
        }
        visited.add(sub)
        queue.push({ url: sub, depth: page.depth + 1 })
      }
    }
    for (const url of this.pages.keys()) if (!visited.has(url)) this.pages.delete(url)
    return listed
  }

  private async readPage (url: string): Promise<ParsedIndex> {
    const known = this.pages.get(url)
    this.state.requests += 1
    const r = await fetchLimited(url, known ?? {}, indexTypeCheck(url === this.id ? this.kind : 'listing'), { ...this.limits, maxBytes: this.o.maxIndexBytes })
    if (r.status === 'not-modified') {
      this.state.notModified += 1
      if (known) return known.parsed
      throw new SourceError('ERR_SOURCE_HTTP', url, 'HTTP 304 to an unconditional request')
    }
    const kind = url === this.id ? (this.kind ?? indexKind(url, r.contentType)) : 'listing'
    if (kind === undefined) throw new SourceError('ERR_SOURCE_KIND', url, `cannot tell a listing, feed or manifest from Content-Type ${r.contentType || '(none)'}`)
    if (url === this.id && this.kind === undefined) { this.kind = kind; this.state.kind = kind }
    const parsed = parseIndex(kind, r.bytes, url)
    this.pages.set(url, { ...(r.etag ? { etag: r.etag } : {}), ...(r.lastModified ? { lastModified: r.lastModified } : {}), parsed })
    return parsed
  }

  /** Fetches one .torrent (conditionally when cached); returns whether anything changed. */
  private async fetchTorrent (e: Entry): Promise<boolean> {
    if (this.closed) return false
    this.state.requests += 1
    try {
      const r = await fetchLimited(e.url, e.sha ? e : {}, torrentType, { ...this.limits, maxBytes: this.o.maxTorrentBytes })
      if (r.status === 'not-modified') {
        this.state.notModified += 1
        const changed = e.failures > 0
        e.failures = 0
        delete e.warned
        return changed
      }
      const parsed = await parseTorrent(r.bytes, e.url)
      const sha = TorrentCache.shaOf(r.bytes)
      if (sha !== e.sha && !this.closed) this.cache.put(r.bytes, sha)
      // Nothing about the entry changes unless the bytes are in the cache and it is still listed.
      if (this.closed || this.entries.get(e.url) !== e) return false // removed meanwhile
      const validatorsChanged = e.etag !== r.etag || e.lastModified !== r.lastModified
      if (r.etag) e.etag = r.etag; else delete e.etag
      if (r.lastModified) e.lastModified = r.lastModified; else delete e.lastModified
      e.failures = 0
      // A wrong stated hash: served under its real one here, but shards decide by the stated
      // one, so the real one's shard may never fetch it. Said once per URL.
      const mismatch = e.stated !== undefined && e.stated !== parsed.infoHash ? `stated ${e.stated}` : undefined
      if (mismatch !== undefined && e.warned !== mismatch) {
        this.warn('WARN_SOURCE_STATED_HASH', e.url, `${e.url}: the index states info hash ${e.stated}, the .torrent's is ${parsed.infoHash}; with --shard the shard owning ${parsed.infoHash} may never fetch it: fix the index`)
      }
      if (mismatch !== undefined) e.warned = mismatch; else delete e.warned
      if (sha === e.sha) return validatorsChanged
      const previousSha = e.sha
      const previousHash = e.infoHash
      e.sha = sha
      e.infoHash = parsed.infoHash
      const torrent = { location: e.url, parsed: { ...parsed, source: this.cache.fileFor(sha) } }
      if (previousSha !== undefined && previousHash !== undefined) {
        this.pendingDrops.add(previousSha)
        this.emit('replaced', torrent, previousHash)
      } else {
        this.emit('added', torrent)
      }
      return true
    } catch (err) {
      e.failures += 1
      e.failedAtPoll = this.state.polls
      const message = (err as Error).message
      if (e.warned !== message) {
        e.warned = message
        const kept = e.infoHash !== undefined ? '; still serving the last good copy' : ''
        this.warn((err as { code?: string }).code ?? 'ERR_SOURCE', e.url, `${message.startsWith(e.url) ? message : `${e.url}: ${message}`}${kept}`)
      }
      return false
    }
  }

  fileOf (location: string): string | undefined {
    const sha = this.entries.get(location)?.sha
    return sha ? this.cache.fileFor(sha) : undefined
  }

  private referenced (sha: string): boolean {
    for (const e of this.entries.values()) if (e.sha === sha) return true
    return false
  }

  private saveIndex (): void {
    const t0 = this.clock.now()
    this.savedAt = t0
    try {
      this.cache.saveIndex({
        entries: [...this.entries.values()].map(e => ({
          url: e.url,
          ...(e.etag ? { etag: e.etag } : {}),
          ...(e.lastModified ? { lastModified: e.lastModified } : {}),
          ...(e.fingerprint ? { fingerprint: e.fingerprint } : {}),
          ...(e.sha ? { sha: e.sha, infoHash: e.infoHash } : {}),
          ...(e.hint ? { hint: e.hint } : {})
        }))
      })
      this.saveCostMs = this.clock.now() - t0
    } catch (err) {
      this.warn('WARN_SOURCE_CACHE', this.cache.dir, `cannot write the source cache: ${(err as Error).message}`)
    }
  }

  /** Stops polling; a poll in flight finishes without effect. */
  async close (): Promise<void> {
    this.closed = true
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
    this.abort.abort()
    // A shared pool is closed by its owner; this source's queued requests find it closed.
    if (this.ownGates) this.gates.close()
    await this.running?.catch(() => {})
  }
}
