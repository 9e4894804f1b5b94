/**
 * Caps warnings from one noisy source (a flood of malformed DHT packets, a LAN full of bad
 * LSD datagrams) at a few per minute, then says how many were held back.
 */
export class WarnLimiter {
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

  warn (message: string): void {
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
    } else {
      this.suppressed += 1
    }
  }
}
