/**
 * Load-time warnings for listeners attached after `await createTorrentFish()`.
 *
 * Loading the load path happens inside `createTorrentFish()`, so its warnings (a corrupt file,
 * a duplicate, a missing optional transport) are emitted before the caller could attach
 * `fish.on('warning', ...)`. Rather than asking every user for a setup callback, the warnings
 * of the start are kept (at most MAX_HELD_WARNINGS) and delivered to each 'warning' listener
 * that had not seen them, once, right after it is attached. Warnings after the start are live
 * only, as usual.
 */
import type { EventEmitter } from 'node:events'
import type { Warning } from '../core/metadata-peer.ts'

/** Load-time warnings kept for late listeners; beyond it one summary warning says how many more. */
export const MAX_HELD_WARNINGS = 1000

type AnyListener = ((...args: unknown[]) => void) & { listener?: (...args: unknown[]) => void }

interface Held {
  warning: Warning
  /** Listeners that have received it (live or replayed). */
  seen: Set<unknown>
}

/** Starts keeping `emitter`'s warnings; call `release()` once the start has finished. */
export function holdStartupWarnings (emitter: EventEmitter): { release: () => void } {
  const held: Held[] = []
  let dropped = 0
  let recording = true
  const original = (l: unknown): unknown => (l as AnyListener).listener ?? l

  const record = (warning: Warning): void => {
    if (!recording) return
    if (held.length >= MAX_HELD_WARNINGS) { dropped += 1; return }
    const seen = new Set<unknown>(emitter.rawListeners('warning').filter(l => l !== record).map(original))
    held.push({ warning, seen })
  }

  const deliver = (listener: unknown): void => {
    const pending = held.filter(h => !h.seen.has(listener))
    if (dropped > 0) pending.push({ warning: { code: 'WARN_MORE_LOAD_WARNINGS', message: `${dropped} more warnings while loading were not kept (the first ${MAX_HELD_WARNINGS} were delivered)` }, seen: new Set() })
    for (const h of pending) {
      // Still attached? A once() listener is called through its wrapper, which detaches it.
      const raw = emitter.rawListeners('warning').find(l => original(l) === listener) as AnyListener | undefined
      if (!raw) return
      h.seen.add(listener)
      raw.call(emitter, h.warning)
    }
  }

  emitter.on('warning', record)
  emitter.on('newListener', (event: string | symbol, listener: unknown) => {
    if (event !== 'warning' || listener === record || (held.length === 0 && dropped === 0)) return
    // After the listener is actually added (newListener fires before).
    queueMicrotask(() => deliver(listener))
  })
  return {
    release () {
      // Warnings are emitted on a microtask: let those queued during the start arrive first.
      setImmediate(() => {
        recording = false
        emitter.off('warning', record)
      })
    }
  }
}
