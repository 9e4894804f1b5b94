/**
 * A directory loader's first scan: every .torrent under the load path, in walk order, each
 * loaded from the load cache when it vouches for the file (scan-cache.ts), else read here or
 * by reader processes (reader-handoff.ts). It lets the event loop turn as it goes and ends at
 * the next file once stopped, so a signal is answered in the middle of a 100k-file scan.
 */
import { statSync } from 'node:fs'
import { identityOf } from './load-cache.ts'
import { SyncFileReader } from './load-file-reader.ts'
import { walkTorrentFiles } from './torrent-walk.ts'
import { ReaderHandoff, type LoadedSet, type ReaderSettings } from './reader-handoff.ts'
import type { ScanCache } from './scan-cache.ts'

/**
 * Files between two turns of the event loop during a scan: the loop reads synchronously and
 * awaits only microtasks, so without a turn a signal or a timer waits for the whole scan.
 * ~400 turns for 100k files, each a few microseconds.
 */
const TURN_EVERY = 256

export interface ScanResult {
  loaded: number
  failed: number
  ignored: number
  /** Of `loaded`, how many came from the load cache (not read); directory scans only. */
  cached?: number
  /** Reader processes the scan started (none: absent). */
  readers?: number
  /** Of `loaded` and `failed`, how many the readers read. */
  fromReaders?: number
  /** The scan was stopped before it reached every file (DirectoryLoader.stopScan). */
  stopped?: true
}

/** The loaded set as the scan sees it: where files go, where warnings go, whether to stop. */
export interface ScanTarget extends LoadedSet {
  warn (code: string, message: string): void
  /** Checked before each file: true ends the scan there (what was loaded stays loaded). */
  stopped (): boolean
}

/** Reads the whole directory (recursively) into `target`, writing the load cache as it goes. */
export async function scanDirectory (target: ScanTarget, cache: ScanCache, settings: ReaderSettings): Promise<ScanResult> {
  let ignored = 0
  // The tree is walked as it loads, one directory's names at a time, in the order of the
  // sorted full paths: no list of every path (nor of 100k Dirent objects) is built first.
  const files = walkTorrentFiles(settings.dir, {
    other: file => { ignored += 1; target.warn('WARN_NOT_A_TORRENT', `${file}: ignored, not a .torrent file`) },
    unreadable: (dir, message) => target.warn('WARN_UNREADABLE_DIRECTORY', `${dir}: skipped, cannot read this directory (${message})`)
  })
  let loaded = 0
  let failed = 0
  let cached = 0
  const previous = cache.previous
  // One file at a time, synchronously, into one reused buffer. Reading ahead on the thread
  // pool (fs callbacks, 4-8 files in flight) measured 2.5x the CPU per file on a busy 2-core
  // machine (a thread hand-off per syscall) and no faster; per-file promises and buffers
  // also leave garbage that inflates the heap at 100k files.
  const reader = new SyncFileReader()
  // Without a cache every file is read: past the first few thousand, reader processes do it.
  const handoff = previous === null && settings.readers !== 0 ? new ReaderHandoff(target, reader, settings) : null
  /** Files since the scan last let the event loop turn (signals, timers, readers' first lines). */
  let sinceTurn = 0
  try {
    for (const file of files) {
      if (target.stopped()) break
      if (++sinceTurn >= TURN_EVERY) {
        sinceTurn = 0
        await new Promise(resolve => setImmediate(resolve))
        if (target.stopped()) break
      }
      if (handoff !== null) {
        const starting = handoff.decide()
        if (starting !== undefined) await starting
        if (handoff.active) { await handoff.handOut(file); continue }
      }
      // A file the cache knows, with the same identity: one stat, no read, no hash.
      const st = previous ? statSync(file, { throwIfNoEntry: false }) : undefined
      const hit = st?.isFile() ? previous!.lookup(file, identityOf(st)) : undefined
      if (hit && await target.apply(file, hit.torrent, identityOf(st!), hit.line)) { loaded += 1; cached += 1; continue }
      if (await target.load(file, reader.read(file))) loaded += 1
      else failed += 1
    }
    if (handoff !== null && !target.stopped()) await handoff.drain()
    previous?.drain()
    handoff?.close()
  } finally {
    handoff?.close(true)
    cache.finish()
  }
  cache.warnIfIncomplete()
  const stopped = target.stopped()
  if (handoff !== null) { loaded += handoff.loaded; failed += handoff.failed }
  const readers = handoff?.readers ?? 0
  return { loaded, failed, ignored, cached, ...(readers > 0 ? { readers, fromReaders: handoff!.fromReaders } : {}), ...(stopped ? { stopped: true as const } : {}) }
}
