/**
 * Caps warnings from one noisy source (a flood of malformed DHT packets, a LAN full of bad
 * LSD datagrams, a tracker failing for thousands of torrents) at a few per minute, then says
 * how many were held back.
 */
export class WarnThrottle<T = string> {
  private window = -1
  private count = 0
  private suppressed = 0
  private readonly perMinute: number
  private readonly emit: (item: T) => void
  private readonly now: () => number
  private readonly summary: (suppressed: number) => T

  /**
   * @param summary what to emit for the warnings held back in a minute (the default suits
   *   string messages; give one for structured warnings)
   */
  constructor (emit: (item: T) => void, perMinute = 10, now: () => number = Date.now,
    summary: (suppressed: number) => T = n => `(${n} similar warnings not shown)` as T) {
    this.emit = emit
    this.perMinute = perMinute
    this.now = now
    this.summary = summary
  }

  /** Emits the warning unless this minute's quota is used up. Returns whether it was emitted. */
  warn (message: T): boolean {
    const minute = Math.floor(this.now() / 60_000)
    if (minute !== this.window) {
      if (this.suppressed > 0) this.emit(this.summary(this.suppressed))
      this.window = minute
      this.count = 0
      this.suppressed = 0
    }
    if (this.count < this.perMinute) {
      this.count += 1
      this.emit(message)
      return true
    }
    this.suppressed += 1
    return false
  }
}
