/**
 * Bounds how far V8 lets the old generation fill with garbage before it collects it.
 *
 * What held the memory after a flood (the memory test's 40,000 handshakes, 400 at a time,
 * measured in the CLI with process.memoryUsage() and v8.getHeapSpaceStatistics()): RSS +46
 * MiB, of which the old space +37 MiB, and all of that garbage: the objects of connections
 * that lived across two scavenges (the young generation is capped at 16 MiB, see
 * young-generation.ts), promoted and dead soon after. heapUsed fell from 63 to 20 MiB when a
 * full collection was forced for the measurement; external memory and array buffers did not
 * move (11 MiB, < 1 MiB), nor did malloc. V8 sets the next full collection's limit at up to
 * 4x the live old generation on a machine with much memory (a fast collector earns the
 * highest factor), so with 12 MiB live the old space grew to ~50 MiB, and an idle server then
 * keeps those pages: the memory reducer only runs a while after a full collection that the
 * allocation limit started.
 *
 * Fixing the factor at 2 makes the next full collection come once the old generation has
 * doubled its live size, so promoted garbage is collected about twice as soon: the same flood
 * then leaves RSS +22 MiB (+46 to +62 before). A factor of 1.5 left +10 MiB but made each flood's
 * opening burst slower (the time to the peer's answer in a flood's first second, p99 35-134 ms
 * against 14-57 ms without it, six same-run pairs); at 2 the burst was as before (30-42 against
 * 25-76 ms). It is set at start, before the initial load: set after it, the limit V8 had
 * already chosen during the load (at 4x) still held, and the flood left +42 to +49 MiB. With it
 * the 100k-torrent load peaked 20-37 MiB lower (210 against 227-248 MiB) for a load CPU within
 * noise on a first start and 0-19% more on a restart (4 same-run rounds, load 1.0-2.5).
 * A value given on node's command line (`node --heap-growing-percent=N`) is left as it is. No
 * GC is forced.
 */
import v8 from 'node:v8'

/** The old generation may grow by this share of its live size before a full collection. */
export const OLD_GENERATION_GROWING_PERCENT = 100

const FLAG = '--heap-growing-percent'

let installed = false

/** Sets V8's old-generation growing factor once per process, unless node was given one. */
export function capOldGenerationGrowth (percent = OLD_GENERATION_GROWING_PERCENT): void {
  if (installed) return
  installed = true
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some(a => a.startsWith(FLAG) || a.startsWith(FLAG.replace(/-/g, '_')))
  if (!given) v8.setFlagsFromString(`${FLAG}=${percent}`)
}
