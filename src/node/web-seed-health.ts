/**
 * Web seed health: a metadata peer for a torrent whose web seed is gone only produces stalled
 * downloads, so this checks every `url-list` entry (BEP 19) of every loaded torrent now and
 * then, with a HEAD request (or a one-byte Range GET when HEAD tells nothing), and reports per
 * torrent whether the files are there with the right size. Requests are rate limited: 100k
 * torrents must not turn torrent-fish into a load generator against its own web seeds.
 */
import { EventEmitter } from 'node:events'
import bencode from 'bencode'
import type { MetadataPeer } from '../core/metadata-peer.ts'
import type { TorrentRecord } from '../core/torrent.ts'
import { systemClock, type Clock } from '../util/clock.ts'
import { resolveOptions, integerIn, numberIn, type OptionSpec } from '../util/options.ts'

/** The verdict for one torrent (or one URL): worst first in {@link SEVERITY}. */
export type WebSeedState = 'ok' | 'missing' | 'wrong-size' | 'error'

/** Which failure to report when several web seeds fail differently: the most telling first. */
const SEVERITY: WebSeedState[] = ['missing', 'wrong-size', 'error', 'ok']

/** One `url-list` entry's result. */
export interface WebSeedUrlCheck {
  /** The url-list entry as written in the torrent. */
  url: string
  status: WebSeedState
  /** Why it is not ok: the file URL and what went wrong. */
  reason?: string
  /** Files of the torrent checked under this entry. */
  filesChecked: number
}

/** One torrent's web seed health. */
export interface WebSeedStatus {
  infoHash: string
  name: string
  /** ok when at least one web seed serves every checked file with the right size. */
  status: WebSeedState
  reason?: string
  /** When the check finished (ms since the epoch). */
  checkedAt: number
  urls: WebSeedUrlCheck[]
}

export interface WebSeedHealthOptions {
  /** A new pass over every torrent starts at most this often. */
  intervalMs?: number
  /** HTTP requests started per second at most, over all torrents. */
  requestsPerSecond?: number
  /** Requests in flight at once. */
  concurrency?: number
  /** Per request. */
  timeoutMs?: number
  /** Files of a multi-file torrent checked per pass (a window that moves on each pass). */
  maxFilesPerTorrent?: number
  /** Time source for the interval, the rate limit and the timeouts (tests pass a manual clock). */
  clock?: Clock
}

/** Defaults of {@link WebSeedHealthOptions}, each with its reason. */
export const WEB_SEED_HEALTH_DEFAULTS = {
  /** Web seeds rarely move; every 15 minutes catches a removed file well before most users notice. */
  intervalMs: 15 * 60_000,
  /** 100k torrents must not turn torrent-fish into a load generator against its own web seeds. */
  requestsPerSecond: 10,
  /** Enough to hide one slow server behind others, few enough to stay polite. */
  concurrency: 4,
  /** A web seed that takes longer than this to answer a HEAD stalls real downloads too. */
  timeoutMs: 10_000,
  /** Bounds one torrent's share of a pass; the window moves so every file is seen over time. */
  maxFilesPerTorrent: 16,
  clock: systemClock as Clock
}

const SPEC: OptionSpec<Required<WebSeedHealthOptions>> = {
  intervalMs: numberIn(1, 366 * 86_400_000),
  requestsPerSecond: numberIn(0.001, 10_000),
  concurrency: integerIn(1, 1024),
  timeoutMs: numberIn(1, 3_600_000),
  maxFilesPerTorrent: integerIn(1, 1_000_000),
  clock: v => typeof v === 'object' && v !== null && typeof (v as Clock).now === 'function' && typeof (v as Clock).setTimeout === 'function' && typeof (v as Clock).clearTimeout === 'function' ? undefined : 'must be a clock (now, setTimeout, clearTimeout)'
}

/** Checks web seed checker options; unknown names and bad values throw InvalidOptionError (`webSeedCheck.x`). */
export function resolveWebSeedHealthOptions (options: WebSeedHealthOptions = {}): Required<WebSeedHealthOptions> {
  return resolveOptions('webSeedCheck', WEB_SEED_HEALTH_DEFAULTS as Required<WebSeedHealthOptions>, SPEC, options as Record<string, unknown>)
}

export interface WebSeedHealthEvents {
  /** A torrent's status changed (or was found for the first time). */
  change: [WebSeedStatus, WebSeedStatus | undefined]
  /** A pass over every torrent finished. */
  pass: [{ checked: number, durationMs: number }]
}

interface FileTarget {
  /** Path segments below the web seed base: [name] or [name, ...path]. */
  segments: string[]
  length: number
}

interface Layout {
  singleFile: boolean
  files: FileTarget[]
}

function text (value: unknown): string {
  return value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : String(value)
}

/** The files as a web seed lays them out (BEP 19), read from the exact .torrent bytes. */
function layoutOf (torrentFile: Uint8Array, record: TorrentRecord): Layout {
  const top = bencode.decode(torrentFile)
  const info = top?.info ?? {}
  const name = record.name
  if (typeof info.length === 'number') return { singleFile: true, files: [{ segments: [name], length: info.length }] }
  const files: FileTarget[] = []
  for (const f of Array.isArray(info.files) ? info.files : []) {
    // BEP 47 pad files are never on a web seed.
    if (f.attr !== undefined && text(f.attr).includes('p')) continue
    const parts = (f['path.utf-8'] ?? f.path ?? []) as unknown[]
    files.push({ segments: [name, ...parts.map(text)], length: Number(f.length) })
  }
  return { singleFile: false, files }
}

/** The URL a BEP 19 client fetches for one file of the torrent. */
export function webSeedFileUrl (entry: string, layout: { singleFile: boolean }, segments: string[]): string {
  const encoded = segments.map(s => encodeURIComponent(s)).join('/')
  if (layout.singleFile) return entry.endsWith('/') ? entry + encoded : entry
  return (entry.endsWith('/') ? entry : entry + '/') + encoded
}

function worst (states: WebSeedState[]): WebSeedState {
  for (const s of SEVERITY) if (states.includes(s)) return s
  return 'ok'
}

function describe (err: unknown): string {
  const e = err as { name?: string, message?: string, cause?: { code?: string, message?: string } }
  if (e?.name === 'TimeoutError') return 'timed out'
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err)
}

export class WebSeedHealth extends EventEmitter<WebSeedHealthEvents> {
  readonly intervalMs: number
  private readonly peer: MetadataPeer
  private readonly clock: Clock
  private readonly spacingMs: number
  private readonly concurrency: number
  private readonly timeoutMs: number
  private readonly maxFiles: number
  private readonly statuses = new Map<string, WebSeedStatus>()
  /** Where the next window of files starts, per multi-file torrent with many files. */
  private readonly offsets = new Map<string, number>()
  /** Checks done so far, by result, for /metrics. */
  readonly checks: Record<WebSeedState, number> = { ok: 0, missing: 0, 'wrong-size': 0, error: 0 }
  private nextSlot = 0
  private readonly abort = new AbortController()
  private loop: Promise<void> | null = null
  private readonly onRemoved = (record: TorrentRecord): void => {
    this.statuses.delete(record.infoHash)
    this.offsets.delete(record.infoHash)
    this.pending.delete(record.infoHash)
  }

  /** A rewritten torrent may name other web seeds: forget its result and check it soon. */
  private readonly onUpdated = (record: TorrentRecord): void => {
    this.onRemoved(record)
    this.onAdded(record)
  }

  /** Torrents added while running: checked soon (same rate limit) rather than next pass. */
  private readonly pending = new Set<string>()
  private draining: Promise<void> | null = null
  private readonly onAdded = (record: TorrentRecord): void => {
    if (record.urlList.length === 0 || !this.loop || this.closed) return
    this.pending.add(record.infoHash)
    this.draining ??= this.drain()
  }

  private async drain (): Promise<void> {
    while (this.pending.size > 0 && !this.closed) {
      const [infoHash] = this.pending
      this.pending.delete(infoHash)
      await this.checkTorrent(infoHash)
    }
    this.draining = null
  }

  constructor (peer: MetadataPeer, options: WebSeedHealthOptions = {}) {
    super()
    this.peer = peer
    const o = resolveWebSeedHealthOptions(options)
    this.clock = o.clock
    this.intervalMs = o.intervalMs
    this.spacingMs = 1000 / o.requestsPerSecond
    this.concurrency = o.concurrency
    this.timeoutMs = o.timeoutMs
    this.maxFiles = o.maxFilesPerTorrent
    peer.on('torrent-removed', this.onRemoved)
    peer.on('torrent-added', this.onAdded)
    peer.on('torrent-updated', this.onUpdated)
  }

  /** Starts checking in the background: a first pass now, then one per interval. */
  start (): this {
    this.loop ??= this.run()
    return this
  }

  get closed (): boolean { return this.abort.signal.aborted }

  /** The last result for a torrent, if it was checked. */
  get (infoHash: string): WebSeedStatus | undefined {
    return this.statuses.get(infoHash.toLowerCase())
  }

  /** Every result so far. */
  all (): IterableIterator<WebSeedStatus> {
    return this.statuses.values()
  }

  /** Torrents by state; `unchecked` counts torrents with web seeds not checked yet. */
  summary (): Record<WebSeedState | 'unchecked', number> {
    const out = { ok: 0, missing: 0, 'wrong-size': 0, error: 0, unchecked: 0 }
    for (const s of this.statuses.values()) out[s.status] += 1
    for (const r of this.peer.store.records()) if (r.urlList.length > 0 && !this.statuses.has(r.infoHash)) out.unchecked += 1
    return out
  }

  private async run (): Promise<void> {
    while (!this.closed) {
      const started = this.clock.now()
      await this.checkAll()
      await this.sleep(started + this.intervalMs - this.clock.now())
    }
  }

  /** One pass over every torrent that has web seeds. */
  async checkAll (): Promise<void> {
    const started = this.clock.now()
    // One walk of the store shared by the workers: a pass over 1M torrents takes hours at the
    // request rate, and a list of every hash held for all that time would be its biggest object.
    const pending = this.withWebSeeds()
    let checked = 0
    const worker = async (): Promise<void> => {
      while (!this.closed) {
        const next = pending.next()
        if (next.done === true) return
        if (await this.checkTorrent(next.value)) checked += 1
      }
    }
    await Promise.all(Array.from({ length: this.concurrency }, worker))
    if (!this.closed) this.emit('pass', { checked, durationMs: this.clock.now() - started })
  }

  /** Info hashes of the torrents that have web seeds, read from the store as the pass goes. */
  private * withWebSeeds (): Generator<string> {
    for (const r of this.peer.store.records()) if (r.urlList.length > 0) yield r.infoHash
  }

  /** Checks one torrent now; resolves with its new status (undefined if it has no web seed or went away). */
  async checkTorrent (infoHash: string): Promise<WebSeedStatus | undefined> {
    const record = this.peer.getTorrent(infoHash)
    if (!record || record.urlList.length === 0 || this.closed) return undefined
    let layout: Layout
    try {
      const file = await this.peer.store.torrentFile(record.infoHash)
      if (!file) return undefined
      layout = layoutOf(file, record)
    } catch (err) {
      return this.record(record, [{ url: record.urlList[0], status: 'error', reason: `cannot read the torrent: ${describe(err)}`, filesChecked: 0 }])
    }
    const files = this.window(record.infoHash, layout.files)
    const urls: WebSeedUrlCheck[] = []
    for (const entry of record.urlList) {
      if (!/^https?:\/\//i.test(entry)) {
        urls.push({ url: entry, status: 'error', reason: `${entry}: not an http(s) URL`, filesChecked: 0 })
        continue
      }
      let result: WebSeedUrlCheck = { url: entry, status: 'ok', filesChecked: 0 }
      for (const f of files) {
        if (this.closed) return undefined
        const url = webSeedFileUrl(entry, layout, f.segments)
        const { status, reason } = await this.probe(url, f.length)
        this.checks[status] += 1
        result.filesChecked += 1
        if (status !== 'ok') { result = { ...result, status, reason: `${url}: ${reason ?? status}` }; break }
      }
      urls.push(result)
      // One good web seed is enough for downloads to work.
      if (result.status === 'ok') break
    }
    if (this.closed || !this.peer.store.isCurrent(record)) return undefined
    return this.record(record, urls)
  }

  private window (infoHash: string, files: FileTarget[]): FileTarget[] {
    if (files.length <= this.maxFiles) return files
    const start = (this.offsets.get(infoHash) ?? 0) % files.length
    this.offsets.set(infoHash, start + this.maxFiles)
    return Array.from({ length: this.maxFiles }, (_, i) => files[(start + i) % files.length])
  }

  private record (record: TorrentRecord, urls: WebSeedUrlCheck[]): WebSeedStatus {
    const ok = urls.some(u => u.status === 'ok')
    const status = ok ? 'ok' : worst(urls.map(u => u.status))
    const reason = ok ? undefined : urls.find(u => u.status === status)?.reason
    const next: WebSeedStatus = { infoHash: record.infoHash, name: record.name, status, ...(reason ? { reason } : {}), checkedAt: this.clock.now(), urls }
    const previous = this.statuses.get(record.infoHash)
    this.statuses.set(record.infoHash, next)
    if (previous?.status !== next.status || previous?.reason !== next.reason) {
      if (status !== 'ok') {
        const code = status === 'missing' ? 'WARN_WEB_SEED_MISSING' : status === 'wrong-size' ? 'WARN_WEB_SEED_WRONG_SIZE' : 'WARN_WEB_SEED_ERROR'
        this.peer.warn(code, `web seed of ${record.name} (${record.infoHash}) is ${status}: ${reason ?? ''}`, record)
      }
      this.emit('change', next, previous)
    }
    return next
  }

  /** HEAD, falling back to a one-byte Range GET when HEAD is refused or gives no length. */
  private async probe (url: string, expected: number): Promise<{ status: WebSeedState, reason?: string }> {
    try {
      let res = await this.request(url, 'HEAD')
      let size = Number(res.headers.get('content-length') ?? NaN)
      if (res.status === 405 || res.status === 501 || (res.ok && !Number.isFinite(size))) {
        res = await this.request(url, 'GET')
        const total = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '')
        size = res.status === 206 && total ? Number(total[1]) : Number(res.headers.get('content-length') ?? NaN)
        if (res.status === 416) size = 0 // an empty file cannot satisfy a Range
      }
      if (res.status === 404 || res.status === 410) return { status: 'missing', reason: `HTTP ${res.status}` }
      if (!res.ok && res.status !== 416) return { status: 'error', reason: `HTTP ${res.status}` }
      if (Number.isFinite(size) && size !== expected) return { status: 'wrong-size', reason: `${size} bytes, the torrent says ${expected}` }
      return { status: 'ok' }
    } catch (err) {
      if (this.closed) return { status: 'error', reason: 'stopped' }
      return { status: 'error', reason: describe(err) }
    }
  }

  private async request (url: string, method: 'HEAD' | 'GET'): Promise<Response> {
    await this.slot()
    // The timeout runs on the injected clock, so tests drive it in milliseconds.
    const timeout = new AbortController()
    const timer = this.clock.setTimeout(() => timeout.abort(new DOMException(`no answer within ${this.timeoutMs} ms`, 'TimeoutError')), this.timeoutMs)
    try {
      const signal = AbortSignal.any([this.abort.signal, timeout.signal])
      const res = await fetch(url, { method, signal, redirect: 'follow', headers: method === 'GET' ? { Range: 'bytes=0-0' } : {} })
      // Never read bodies: a server that ignores Range would send the whole file.
      await res.body?.cancel().catch(() => {})
      return res
    } finally {
      this.clock.clearTimeout(timer)
    }
  }

  /** Waits for the next request slot of the rate limit. */
  private async slot (): Promise<void> {
    const now = this.clock.now()
    const at = Math.max(now, this.nextSlot)
    this.nextSlot = at + this.spacingMs
    await this.sleep(at - now)
  }

  private async sleep (ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return
    await new Promise<void>(resolve => {
      const done = (): void => { this.clock.clearTimeout(timer); this.abort.signal.removeEventListener('abort', done); resolve() }
      const timer = this.clock.setTimeout(done, ms)
      this.abort.signal.addEventListener('abort', done)
    })
  }

  /** Stops checking; requests in flight are aborted. Safe to call twice. */
  async close (): Promise<void> {
    if (this.closed) return
    this.abort.abort()
    this.peer.off('torrent-removed', this.onRemoved)
    this.peer.off('torrent-added', this.onAdded)
    this.peer.off('torrent-updated', this.onUpdated)
    await Promise.all([this.loop, this.draining])
  }
}
