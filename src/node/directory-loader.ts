/**
 * Loads every .torrent under a directory into the peer and keeps it in step while running:
 * a file added, replaced or removed takes effect without a restart. Each bad file gets one
 * warning naming it; everything else keeps serving.
 */
import { watch, type FSWatcher } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { parseTorrent } from '../core/torrent.ts'
import { DuplicateTorrentError } from '../core/errors.ts'
import { MAX_TORRENT_FILE_SIZE } from '../core/constants.ts'
import type { MetadataPeer } from '../core/metadata-peer.ts'

/** How many files are read at once on a full scan: enough to hide latency, few enough for file descriptors. */
const SCAN_CONCURRENCY = 64

/** Editors and copies write a file in several steps; wait this long after the last event. */
const WATCH_SETTLE_MS = 150

export interface DirectoryLoaderOptions {
  /** Keep .torrent bytes in memory instead of re-reading files on demand. */
  pin?: boolean
}

export interface ScanResult {
  loaded: number
  failed: number
  ignored: number
}

export class DirectoryLoader {
  readonly dir: string
  private readonly peer: MetadataPeer
  private readonly pin: boolean
  /** Absolute path -> info hash it provides. */
  private readonly byPath = new Map<string, string>()
  /** Paths whose last load failed or was a duplicate, with the mtime we saw, so we do not warn twice. */
  private readonly skipped = new Map<string, number>()
  private watcher: FSWatcher | null = null
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>()
  private readonly inFlight = new Map<string, Promise<void>>()

  constructor (peer: MetadataPeer, dir: string, options: DirectoryLoaderOptions = {}) {
    this.peer = peer
    this.dir = path.resolve(dir)
    this.pin = options.pin === true
  }

  /** The info hash a file provides, if it is loaded. */
  infoHashOf (file: string): string | undefined {
    return this.byPath.get(path.resolve(file))
  }

  /** Reads the whole directory (recursively). */
  async scan (): Promise<ScanResult> {
    const entries = await readdir(this.dir, { recursive: true, withFileTypes: true })
    const files: string[] = []
    let ignored = 0
    for (const e of entries) {
      if (!e.isFile()) continue
      const full = path.join(e.parentPath, e.name)
      if (full.toLowerCase().endsWith('.torrent')) files.push(full)
      else {
        ignored += 1
        this.peer.warn('WARN_NOT_A_TORRENT', `${full}: ignored, not a .torrent file`)
      }
    }
    files.sort()
    let next = 0
    let loaded = 0
    let failed = 0
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const file = files[next++]
        if (await this.load(file)) loaded += 1
        else failed += 1
      }
    }
    await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, files.length) }, worker))
    return { loaded, failed, ignored }
  }

  /** Loads or reloads one file; returns whether it is now served. */
  async load (file: string): Promise<boolean> {
    const full = path.resolve(file)
    let info
    try {
      info = await stat(full)
      if (!info.isFile()) throw new Error('not a regular file')
      if (info.size > MAX_TORRENT_FILE_SIZE) throw new Error(`file is ${info.size} bytes, above the ${MAX_TORRENT_FILE_SIZE}-byte cap`)
      const bytes = new Uint8Array(await readFile(full))
      const parsed = await parseTorrent(bytes, full)
      const previous = this.byPath.get(full)
      if (previous === parsed.infoHash) {
        // Same torrent rewritten (maybe with other trackers or web seeds): replace the record.
        await this.peer.addTorrent(parsed, { pin: this.pin, replace: true })
      } else {
        await this.peer.addTorrent(parsed, { pin: this.pin })
        if (previous) this.peer.removeTorrent(previous)
      }
      this.byPath.set(full, parsed.infoHash)
      this.skipped.delete(full)
      return true
    } catch (err) {
      const seen = this.skipped.get(full)
      const mtime = info?.mtimeMs ?? 0
      if (seen !== mtime) {
        this.skipped.set(full, mtime)
        const message = err instanceof DuplicateTorrentError || (err as Error).message.startsWith(full)
          ? (err as Error).message
          : `${full}: ${(err as Error).message}`
        this.peer.warnError(Object.assign(err instanceof Error ? err : new Error(String(err)), { message }), full)
      }
      return false
    }
  }

  /** Forgets a file that disappeared and removes its torrent. */
  unload (file: string): void {
    const full = path.resolve(file)
    this.skipped.delete(full)
    const infoHash = this.byPath.get(full)
    if (infoHash === undefined) return
    this.byPath.delete(full)
    this.peer.removeTorrent(infoHash)
  }

  /** Starts watching for changes. */
  watch (): void {
    if (this.watcher) return
    this.watcher = watch(this.dir, { recursive: true, persistent: false }, (_event, name) => {
      if (!name) return void this.scan().catch(err => this.peer.warnError(err, this.dir))
      const full = path.join(this.dir, name.toString())
      if (!full.toLowerCase().endsWith('.torrent')) return
      const t = this.timers.get(full)
      if (t) clearTimeout(t)
      this.timers.set(full, setTimeout(() => { this.timers.delete(full); void this.settle(full) }, WATCH_SETTLE_MS))
    })
    this.watcher.on('error', err => this.peer.warnError(err, this.dir))
  }

  /** Applies the current state of one file; serialised per path. */
  private async settle (full: string): Promise<void> {
    const prior = this.inFlight.get(full) ?? Promise.resolve()
    const run = prior.then(async () => {
      const exists = await stat(full).then(s => s.isFile(), () => false)
      if (exists) await this.load(full)
      else this.unload(full)
    })
    const tracked = run.finally(() => { if (this.inFlight.get(full) === tracked) this.inFlight.delete(full) })
    this.inFlight.set(full, tracked)
    await tracked
  }

  /** Waits until pending watch events have been applied (for tests and shutdown). */
  async idle (): Promise<void> {
    while (this.timers.size > 0 || this.inFlight.size > 0) {
      await Promise.all([...this.inFlight.values()])
      if (this.timers.size > 0) await new Promise(resolve => setTimeout(resolve, WATCH_SETTLE_MS))
    }
  }

  close (): void {
    this.watcher?.close()
    this.watcher = null
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }
}
