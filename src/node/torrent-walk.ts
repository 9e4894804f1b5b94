/**
 * The .torrent files under a load path, walked one directory at a time: what the directory
 * loader scans at start and lists on a rescan. Unreadable subdirectories and other files are
 * reported to a visitor, never thrown.
 */
import { opendirSync, statSync, type Stats } from 'node:fs'
import path from 'node:path'

export function statSyncOrNull (file: string): Stats | null {
  try { return statSync(file) } catch { return null }
}

/** Where a walk reports what it skips. */
export interface WalkVisitor {
  other (file: string): void
  unreadable (dir: string, message: string): void
}

/**
 * The .torrent files under `root`, in the order `Array.prototype.sort` gives their full paths
 * (each directory's entries sorted with a `/` after directory names, which is that order),
 * read one directory at a time through a directory handle, so neither a list of every path
 * nor an array of Dirent objects for a 100k-file directory is held.
 */
export function * walkTorrentFiles (root: string, visit: WalkVisitor): Generator<string> {
  yield * walkDir(root, root, visit)
}

function * walkDir (dir: string, root: string, visit: WalkVisitor): Generator<string> {
  const keys: string[] = []
  let handle
  try {
    handle = opendirSync(dir, { bufferSize: 256 })
  } catch (err) {
    // The load path itself failing is the caller's error; a subdirectory we cannot read
    // (an ext4 root's lost+found, a permission mistake) is one warning, not a failed start.
    if (dir === root) throw err
    visit.unreadable(dir, (err as Error).message)
    return
  }
  try {
    for (let e = handle.readSync(); e !== null; e = handle.readSync()) {
      if (e.isDirectory()) keys.push(e.name + '/')
      else if (e.isFile()) keys.push(e.name)
    }
  } catch (err) {
    if (dir === root) throw err
    visit.unreadable(dir, (err as Error).message)
    return
  } finally {
    handle.closeSync()
  }
  keys.sort()
  // Names from readdir have no separators, '.' or '..': joined by concatenation, not path.join
  // (whose normalizing is a cost per file at 100k files).
  const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep
  for (const key of keys) {
    if (key.endsWith('/')) { yield * walkDir(prefix + key.slice(0, -1), root, visit); continue }
    const full = prefix + key
    if (isTorrentName(key)) yield full
    else visit.other(full)
  }
}

const SUFFIX = '.torrent'

/** Whether a name ends in `.torrent`, in any case (without making a lower-cased copy). */
export function isTorrentName (name: string): boolean {
  const at = name.length - SUFFIX.length
  if (at < 0) return false
  for (let i = 0; i < SUFFIX.length; i++) {
    const c = name.charCodeAt(at + i)
    if ((c >= 0x41 && c <= 0x5a ? c + 0x20 : c) !== SUFFIX.charCodeAt(i)) return false
  }
  return true
}

/** The whole tree at once (rescans need the set of present files). */
export function listTorrentFiles (root: string): { files: string[], others: string[], unreadable: Array<{ dir: string, message: string }> } {
  const others: string[] = []
  const unreadable: Array<{ dir: string, message: string }> = []
  const files = [...walkTorrentFiles(root, { other: f => others.push(f), unreadable: (dir, message) => unreadable.push({ dir, message }) })]
  return { files, others, unreadable }
}
