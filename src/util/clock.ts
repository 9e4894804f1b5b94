/**
 * Time as a dependency. Schedulers, dialers and checkers take a Clock so tests drive them in
 * milliseconds of fake time instead of waiting on the wall clock; production uses the
 * platform's timers. Isomorphic.
 */

/** A timer handle: whatever the clock's setTimeout returns. */
export type TimerHandle = unknown

export interface Clock {
  /** Milliseconds since the epoch (or any fixed origin). */
  now (): number
  /** Calls `fn` after `ms`; the timer never keeps a Node process alive on its own. */
  setTimeout (fn: () => void, ms: number): TimerHandle
  clearTimeout (handle: TimerHandle): void
}

function unref (t: unknown): void { (t as { unref?: () => void }).unref?.() }

/** The platform's clock: Date.now and unref'd timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout (fn, ms) {
    const t = setTimeout(fn, ms)
    unref(t)
    return t
  },
  clearTimeout (handle) { clearTimeout(handle as ReturnType<typeof setTimeout>) }
}
