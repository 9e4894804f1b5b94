// Node's compile cache for the CLI's modules: V8 otherwise parses and compiles the whole import
// graph (~160 modules, discovery and WebRTC libraries included) on every start, which is about
// half of a start's CPU on an empty directory and ~25 MiB of peak memory (docs/benchmarks.md).
// The cache is keyed by Node's version and each module's source, so an upgrade or an edit only
// recompiles what changed. Where it lives, in this order:
//   NODE_COMPILE_CACHE (Node enables it itself before this runs; the systemd units and the
//   container image set it to a directory of their own), off with NODE_DISABLE_COMPILE_CACHE=1;
//   else $XDG_CACHE_HOME/torrent-fish or ~/.cache/torrent-fish.
// The directory is exported as NODE_COMPILE_CACHE so the load path's reader processes use it
// too. A directory that cannot be written (a read-only home) leaves the cache off, silently: the
// start is slower, nothing else changes.
import module from 'node:module'
import os from 'node:os'
import path from 'node:path'

export function enableCompileCache () {
  if (typeof module.enableCompileCache !== 'function' || process.env.NODE_DISABLE_COMPILE_CACHE) return
  if (process.env.NODE_COMPILE_CACHE) return // Node has it on already (or reports why not)
  let dir
  try {
    dir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'torrent-fish')
  } catch { return } // no home directory: no cache
  try {
    const { status } = module.enableCompileCache(dir)
    if (status === module.constants.compileCacheStatus.ENABLED || status === module.constants.compileCacheStatus.ALREADY_ENABLED) process.env.NODE_COMPILE_CACHE = dir
  } catch {}
}
