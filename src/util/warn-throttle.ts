/**
 * Caps warnings from one noisy source (a flood of malformed DHT packets, a LAN full of bad
 * LSD datagrams, a tracker failing for thousands of torrents) at a few per minute, then says
 * how many were held back.
 */
export class WarnThrottle {
  private window = -1
  private count = 0
  private suppressed = 0
  private readonly perMinute: number
  private readonly emit: (message: string) => void
  private readonly now: () => number

  constructor (emit: (message: string) => void, perMinute = 10, now: () => number = Date.now) {
    this.emit = emit
    this.perMinute = perMinute
    this.now = now
  }

  /** Emits the message unless this minute's quota is used up. Returns whether it was emitted. */
  warn (message: string): boolean {
    const minute = Math.floor(this.now() / 60_000)
    if (minute !== this.window) {
      if (this.suppressed > 0) this.emit(`(${this.suppressed} similar warnings not shown)`)
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
