/**
 * The CLI's line per metadata exchange, bounded. A line for each exchange reads well while a
 * few leechers come by, but a service doing thousands a second would write megabytes of log a
 * minute that nobody reads, and building each line was the largest single allocation of an
 * exchange (~3.3 KB of ~23 KB: the message, the JSON, the batched write). So at level info at
 * most EXCHANGE_LINES_PER_WINDOW exchanges are logged per EXCHANGE_WINDOW_MS, each as before
 * (`metadata-served`), and when more came the window ends with one summary line
 * (`metadata-served-summary`) that counts them all, by transport. `-v` logs every exchange.
 *
 * Given a {@link ExchangeFeed}, the log also stops taking events for the rest of a window
 * whose lines are spent, and counts the window's remaining exchanges from the service's own
 * per-transport counters when it ends: with no listener the service does not build the event
 * (the torrent's name and the peer's summary) for each exchange nobody prints, ~2% of the
 * CLI's CPU under load.
 */
import { systemClock, type Clock } from '../util/clock.ts'

/** Lines per window before the rest are counted: a handful of leechers never meet it. */
export const EXCHANGE_LINES_PER_WINDOW = 10
/** How long a window lasts: one summary line a second at most, however busy the service is. */
export const EXCHANGE_WINDOW_MS = 1000

/** What a window that overflowed reports. */
export interface ExchangeSummary {
  /** Exchanges in the window, logged or not. */
  served: number
  /** Of them, logged one by one. */
  logged: number
  /** Exchanges per transport (tcp, utp, webrtc, ...). */
  byTransport: Record<string, number>
  /** The window's length in ms (from its first exchange to the summary). */
  ms: number
}

/** Where the log's events come from, for a log that pauses them (see the file comment). */
export interface ExchangeFeed {
  /** Stop sending events (the log counts from `servedByTransport` meanwhile). */
  pause (): void
  /** Send events again. */
  resume (): void
  /** Exchanges served so far, by transport (cumulative counters: only differences are used). */
  servedByTransport (): Record<string, number>
}

export class ExchangeLog<E> {
  private readonly everyLine: boolean
  private readonly line: (e: E) => void
  private readonly summary: (s: ExchangeSummary) => void
  private readonly clock: Clock
  private windowStart = -1
  private served = 0
  private logged = 0
  private byTransport: Record<string, number> = {}
  private summaryQueued = false
  private readonly endBound = (): void => this.endWindow()
  private readonly feed: ExchangeFeed | undefined
  /** While paused: the feed's counters when it was paused. */
  private pausedAt: Record<string, number> | null = null

  /**
   * @param everyLine log each exchange, no summaries (`-v`)
   * @param line prints one exchange's line (called only when it is printed)
   * @param summary prints a window's summary
   * @param feed pauses the events for the rest of a window whose lines are spent
   */
  constructor (everyLine: boolean, line: (e: E) => void, summary: (s: ExchangeSummary) => void, clock: Clock = systemClock, feed?: ExchangeFeed) {
    this.everyLine = everyLine
    this.line = line
    this.summary = summary
    this.clock = clock
    this.feed = feed
  }

  /** One exchange `e` over `transport`: its line, or a count for the window's summary. */
  served1 (e: E, transport: string): void {
    if (this.everyLine) return this.line(e)
    const now = this.clock.now()
    if (this.windowStart < 0 || (!this.summaryQueued && now - this.windowStart >= EXCHANGE_WINDOW_MS)) {
      this.windowStart = now
      this.served = 0
      this.logged = 0
      this.byTransport = {}
    }
    this.served += 1
    this.byTransport[transport] = (this.byTransport[transport] ?? 0) + 1
    if (this.logged < EXCHANGE_LINES_PER_WINDOW) {
      this.logged += 1
      return this.line(e)
    }
    if (!this.summaryQueued) {
      this.summaryQueued = true
      this.clock.setTimeout(this.endBound, Math.max(0, this.windowStart + EXCHANGE_WINDOW_MS - now))
      if (this.feed) {
        // This exchange is counted already (here, and in the feed's counters before it was sent).
        this.pausedAt = this.feed.servedByTransport()
        this.feed.pause()
      }
    }
  }

  /** Prints the summary of a window that overflowed now (at exit: nothing counted is lost). */
  flush (): void {
    if (this.summaryQueued) this.endWindow()
  }

  private endWindow (): void {
    if (!this.summaryQueued) return
    this.summaryQueued = false
    if (this.pausedAt !== null && this.feed) {
      for (const [transport, n] of Object.entries(this.feed.servedByTransport())) {
        const more = n - (this.pausedAt[transport] ?? 0)
        if (more <= 0) continue
        this.served += more
        this.byTransport[transport] = (this.byTransport[transport] ?? 0) + more
      }
      this.pausedAt = null
      this.feed.resume()
    }
    const s: ExchangeSummary = { served: this.served, logged: this.logged, byTransport: this.byTransport, ms: this.clock.now() - this.windowStart }
    this.windowStart = -1
    this.summary(s)
  }
}
