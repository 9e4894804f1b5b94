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
 * V8 reads its growth factor each time it grows the young generation, so once it has
 * reached the cap this sets the factor to 1 (grow no further). Event-driven: a GC observer
 * checks the size after collections and disconnects once the cap is in place. No GC is forced.
 */
import v8 from 'node:v8'
import { PerformanceObserver } from 'node:perf_hooks'

/** 2 x 8 MiB semi-spaces: the size that loaded 100k torrents as fast as 64 MiB did (bench/). */
export const YOUNG_GENERATION_CAP = 16 * 1024 * 1024

function youngGenerationSize (): number {
  return v8.getHeapSpaceStatistics().find(s => s.space_name === 'new_space')?.space_size ?? 0
}

let installed = false

/** Stops young-generation growth at `cap` bytes (once per process). */
export function capYoungGeneration (cap = YOUNG_GENERATION_CAP): void {
  if (installed) return
  installed = true
  const freeze = (): boolean => {
    if (youngGenerationSize() < cap) return false
    v8.setFlagsFromString('--semi-space-growth-factor=1')
    return true
  }
  if (freeze()) return
  const observer = new PerformanceObserver(() => { if (freeze()) observer.disconnect() })
  observer.observe({ entryTypes: ['gc'] })
}
