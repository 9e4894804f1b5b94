/**
 * Keeps V8's young generation from growing past a cap, however the process was started.
 *
 * What held the memory after a flood (measured with v8.getHeapSpaceStatistics() in the CLI
 * after 40,000 handshakes, 400 at a time): the young generation (`new_space`) had grown from
 * 16 MiB to its 128 MiB ceiling (two 64 MiB semi-spaces). V8 doubles it whenever enough
 * objects survive scavenges (every live connection's objects do) and only shrinks it during
 * a memory-reducing full GC, which an idle server never triggers: ~110 MiB of RSS holding
 * nothing. The shebang's `--max-semi-space-size=8` capped it only when the bin was run
 * directly, never under `node bin/torrent-fish.js`.
 *
 * V8 reads its growth factor each time it grows the young generation, so this sets the
 * factor to 1 (grow no further) while one more doubling would pass the cap, and back to
 * V8's 2 once the young generation is at most half the cap again. Growth must come back:
 * V8 shrinks the young generation during a full GC when allocation is slow (an idle spell,
 * the memory reducer), and with the factor left at 1 it stayed at its 1 MiB minimum from
 * then on. Under load that meant a scavenge every ~60 exchanges instead of every ~400, each
 * copying the live connections' objects again. Event-driven: a GC observer checks the size
 * after collections. No GC is forced.
 */
import v8 from 'node:v8'
import { PerformanceObserver } from 'node:perf_hooks'

/** 2 x 8 MiB semi-spaces: the size that loaded 100k torrents as fast as 64 MiB did (bench/). */
export const YOUNG_GENERATION_CAP = 16 * 1024 * 1024

/** V8's own growth factor (`--semi-space-growth-factor`), restored when growing is safe again. */
const V8_GROWTH_FACTOR = 2

function youngGenerationSize (): number {
  return v8.getHeapSpaceStatistics().find(s => s.space_name === 'new_space')?.space_size ?? 0
}

let installed = false

/** Keeps young-generation growth within `cap` bytes (once per process). */
export function capYoungGeneration (cap = YOUNG_GENERATION_CAP): void {
  if (installed) return
  installed = true
  // A factor given on node's command line is left to the one who gave it.
  if (process.execArgv.some(a => a.startsWith('--semi-space-growth-factor'))) return
  let frozen = false
  const check = (): void => {
    // Sizes need not be powers of two after a shrink: grow only while a doubling stays within the cap.
    const freeze = youngGenerationSize() * V8_GROWTH_FACTOR > cap
    if (freeze === frozen) return
    frozen = freeze
    v8.setFlagsFromString(`--semi-space-growth-factor=${freeze ? 1 : V8_GROWTH_FACTOR}`)
  }
  check()
  const observer = new PerformanceObserver(check)
  observer.observe({ entryTypes: ['gc'] })
}
