/**
 * A token bucket shared by every connection of one direction, and a pass-through stream
 * that spends from it. The CLI's -u/-d limits (kB/s, 0 = unlimited) become buckets here;
 * with no limit no stream is inserted at all, so the common case costs nothing.
 */
import { Transform } from 'streamx'

export class TokenBucket {
  readonly bytesPerSecond: number
  private tokens: number
  private last: number
  private readonly burst: number
  private readonly now: () => number

  constructor (bytesPerSecond: number, now: () => number = Date.now) {
    this.bytesPerSecond = bytesPerSecond
    // One second of burst: enough to send a full 16 KiB metadata piece at any sane limit.
    this.burst = Math.max(bytesPerSecond, 16 * 1024 + 64)
    this.tokens = this.burst
    this.now = now
    this.last = now()
  }

  /** Milliseconds to wait before `bytes` may pass; spends them now (the debt is paid by waiting). */
  take (bytes: number): number {
    const t = this.now()
    this.tokens = Math.min(this.burst, this.tokens + (t - this.last) * this.bytesPerSecond / 1000)
    this.last = t
    this.tokens -= bytes
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens * 1000 / this.bytesPerSecond)
  }
}

/** A Transform that delays chunks so the bytes through all throttles of one bucket stay within its rate. */
export class Throttle extends Transform {
  private readonly bucket: TokenBucket
  private timer: ReturnType<typeof setTimeout> | null = null

  constructor (bucket: TokenBucket) {
    super()
    this.bucket = bucket
  }

  override _transform (chunk: Uint8Array, cb: (err: Error | null, data?: Uint8Array) => void): void {
    const wait = this.bucket.take(chunk.length)
    if (wait === 0) return cb(null, chunk)
    this.timer = setTimeout(() => { this.timer = null; cb(null, chunk) }, wait)
  }

  override _destroy (cb: (err: Error | null) => void): void {
    if (this.timer) clearTimeout(this.timer)
    cb(null)
  }
}
