/**
 * Keeps a directory loader's loaded set in step with its load path while the service runs: a
 * file added, replaced or removed takes effect once it has settled, a new subdirectory is
 * watched and loaded, and a load path that goes away (removed, moved, unmounted) is waited for
 * and rescanned when it comes back, so its torrents return without a restart.
 */
import { watch, type FSWatcher } from 'node:fs'
import { opendir, readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import type { MetadataPeer } from '../core/metadata-peer.ts'

/** Editors and copies write a file in several steps; wait this long after the last event. */
const WATCH_SETTLE_MS = 150

/** The loaded set as the watch keeps it in step (the directory loader). */
export interface WatchedSet {
  /** Loads or reloads one file (reading it); whether it is served. */
  load (file: string): Promise<boolean>
  /** Forgets a file that disappeared and removes its torrent. */
  unload (file: string): void
  /** Brings the whole loaded set in line with the directory (DirectoryLoader.rescan). */
  rescan (): Promise<{ loaded: number, removed: number, failed: number, unchanged: number }>
}

export class DirectoryWatcher {
  private readonly dir: string
  private readonly loaded: WatchedSet
  private readonly peer: Pick<MetadataPeer, 'warn' | 'warnError'>
  private readonly watchers = new Map<string, FSWatcher>()
  private watching = false
  /** Watches the parent directory while the load path is gone, to notice it coming back. */
  private returnWatcher: FSWatcher | null = null
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>()
  private readonly inFlight = new Map<string, Promise<void>>()

  /** `dir`: the load path, absolute. */
  constructor (dir: string, loaded: WatchedSet, peer: Pick<MetadataPeer, 'warn' | 'warnError'>) {
    this.dir = dir
    this.loaded = loaded
    this.peer = peer
  }

  /**
   * Starts watching for changes: one inotify watch per directory. (Node's recursive
   * fs.watch on Linux stats every file and keeps a watcher per file: 100k torrents cost
   * ~100 MiB and seconds of start-up.)
   */
  watch (): void {
    if (this.watching) return
    this.watching = true
    void this.watchTree(this.dir)
  }

  private async watchTree (dir: string): Promise<void> {
    if (!this.watching || this.watchers.has(dir)) return
    let watcher: FSWatcher
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => this.onChange(dir, name?.toString()))
    } catch (err) {
      return this.peer.warnError(err, dir)
    }
    watcher.on('error', () => { this.unwatch(dir); if (dir === this.dir) void this.checkRoot() })
    this.watchers.set(dir, watcher)
    // Streamed, not readdir(): a directory of 1M files would be 1M Dirents and names alive at
    // once (~150 MB), promoted to V8's old space and kept there as RSS. Only subdirectories stay.
    const subdirs: string[] = []
    try {
      for await (const e of await opendir(dir, { bufferSize: 1024 })) if (e.isDirectory()) subdirs.push(e.name)
    } catch {}
    for (const name of subdirs) await this.watchTree(path.join(dir, name))
  }

  private unwatch (dir: string): void {
    for (const [d, w] of this.watchers) {
      if (d === dir || d.startsWith(dir + path.sep)) { w.close(); this.watchers.delete(d) }
    }
  }

  private onChange (dir: string, name: string | undefined): void {
    if (!name) return void this.loaded.rescan().catch(err => this.peer.warnError(err, this.dir))
    // inotify reports the removal (or move) of a watched directory as an event named after it.
    if (dir === this.dir && name === path.basename(this.dir)) void this.checkRoot()
    const full = path.join(dir, name)
    if (!full.toLowerCase().endsWith('.torrent')) {
      // A new directory: watch it and load what was copied into it before the watch began.
      void stat(full).then(st => {
        if (!st.isDirectory()) return
        void this.watchTree(full)
        void readdir(full, { recursive: true }).then(list => { for (const rel of list) this.onChange(full, String(rel)) }, () => {})
      }, () => this.unwatch(full))
      return
    }
    const t = this.timers.get(full)
    if (t) clearTimeout(t)
    this.timers.set(full, setTimeout(() => { this.timers.delete(full); void this.settle(full) }, WATCH_SETTLE_MS))
  }

  /** Applies the current state of one file; serialised per path. */
  private async settle (full: string): Promise<void> {
    const prior = this.inFlight.get(full) ?? Promise.resolve()
    const run = prior.then(async () => {
      const exists = await stat(full).then(s => s.isFile(), () => false)
      if (exists) await this.loaded.load(full)
      else this.loaded.unload(full)
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

  /**
   * The load path may have been removed, moved or unmounted: if so, stop watching it and
   * watch its parent for its name to reappear; then watch it again and rescan, so the
   * torrents come back without a restart.
   */
  private async checkRoot (): Promise<void> {
    if (!this.watching || this.returnWatcher) return
    const there = await stat(this.dir).then(s => s.isDirectory(), () => false)
    if (there || !this.watching || this.returnWatcher) return
    this.unwatch(this.dir)
    const parent = path.dirname(this.dir)
    const base = path.basename(this.dir)
    try {
      this.returnWatcher = watch(parent, { persistent: false }, (_event, name) => {
        if (name === null || name.toString() === base) void this.rootBack()
      })
      this.returnWatcher.on('error', () => { this.returnWatcher?.close(); this.returnWatcher = null })
    } catch (err) {
      this.peer.warn('WARN_LOAD_PATH_GONE', `${this.dir}: the load path is gone and ${parent} cannot be watched for its return (${(err as Error).message}); send SIGHUP to rescan`)
      return
    }
    this.peer.warn('WARN_LOAD_PATH_GONE', `${this.dir}: the load path is gone; watching for it to come back`)
    // It may have come back between the stat and the watch.
    void this.rootBack()
  }

  private async rootBack (): Promise<void> {
    const there = await stat(this.dir).then(s => s.isDirectory(), () => false)
    if (!there || !this.returnWatcher || !this.watching) return
    this.returnWatcher.close()
    this.returnWatcher = null
    // Watch first, then rescan: files written in between are seen by one or the other.
    await this.watchTree(this.dir)
    const r = await this.loaded.rescan().catch(err => { this.peer.warnError(err, this.dir); return null })
    if (r) this.peer.warn('WARN_LOAD_PATH_BACK', `${this.dir}: the load path is back; rescanned: ${r.loaded} loaded, ${r.removed} removed, ${r.failed} failed, ${r.unchanged} unchanged`)
  }

  /** Stops watching and drops pending events; safe to call twice. */
  close (): void {
    this.returnWatcher?.close()
    this.returnWatcher = null
    this.watching = false
    for (const w of this.watchers.values()) w.close()
    this.watchers.clear()
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }
}
