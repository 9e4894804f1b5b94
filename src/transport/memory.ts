/**
 * An in-memory duplex pair: two streams where what one writes the other reads. Used by the
 * conformance suite as the reference transport and by socket-free tests.
 */
import { Duplex } from 'streamx'

class MemoryEnd extends Duplex {
  other: MemoryEnd | null = null

  override _write (data: Uint8Array, cb: (err: Error | null) => void): void {
    // Copy, so neither side can mutate what the other holds.
    this.other?.push(data.slice())
    cb(null)
  }

  override _final (cb: (err: Error | null) => void): void {
    this.other?.push(null)
    cb(null)
  }

  override _destroy (cb: (err: Error | null) => void): void {
    const other = this.other
    this.other = null
    if (other && !other.destroyed) other.destroy()
    cb(null)
  }
}

/** Returns two connected ends: `[a, b]`. */
export function memoryPair (): [Duplex, Duplex] {
  const a = new MemoryEnd()
  const b = new MemoryEnd()
  a.other = b
  b.other = a
  return [a, b]
}
