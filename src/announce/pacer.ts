/**
 * The announce scheduler's rate budget (announces per second, shared by every target) as a
 * pacer: slots are spaced 1/rate apart with a few milliseconds of credit, so start-up is a
 * steady ramp, never a burst; above 10/s the slots of one tick (24 slots or 120 ms) go
 * together. It only counts slots: what fills them is the scheduler's. Isomorphic.
 */

/** Credit the pacer may bank after idling, so timer lateness does not lower the real rate. */
const PACER_CREDIT_MS = 20
/**
 * When slots are close together the pacer wakes once per tick and sends every slot that fell
 * due in it (never earlier than its slot): a tick is 24 slots (one full LSD datagram, which
 * a batching target gets in one call), at most 120 ms. At 200/s that is 8 wake-ups a second
 * instead of 200: an event-loop wake-up (epoll, the timer list, a microtask flush) cost more
 * than the announce itself. A tick that fires late can put at most one tick's slots more into
 * a one-second window. At 10/s or less every slot has its own wake-up.
 */
const PACER_TICK_MS = 120
const PACER_TICK_SLOTS = 24
const PACER_TICKS_ABOVE_RATE = 10

export class Pacer {
  /** Announces per second. */
  rate: number
  /** When the next slot is free (the pacer's clock). */
  private nextSlot = 0
  /** Of the pass begun last: slot spacing, tick length, and whether slots go by ticks. */
  private spacing = 0
  private tick = 0
  private ticked = false

  constructor (rate: number) {
    this.rate = rate
  }

  /**
   * Begins a pass of the scheduler at `now`: returns the pacer's clock for it, which slots are
   * compared with ({@link open}) and which {@link wakeAt} needs.
   */
  begin (now: number): number {
    const spacing = 1000 / this.rate
    // With ticks the pacer's clock moves in whole ticks: pumps between two ticks (an announce
    // finishing) send nothing new, the next tick sends what fell due meanwhile.
    // Whole milliseconds, so the tick boundaries are exact (a fractional modulo could land a
    // wake-up just before its boundary and wake again at once).
    const tick = Math.floor(Math.min(PACER_TICK_MS, PACER_TICK_SLOTS * spacing))
    const ticked = this.rate > PACER_TICKS_ABOVE_RATE && tick > spacing
    const pacerNow = ticked ? Math.floor(now) - (Math.floor(now) % tick) : now
    // After an idle spell the pacer banks only a little credit; between ticks a whole tick is
    // owed (the slots since the last tick), which is no credit at all.
    if (this.nextSlot < pacerNow - (ticked ? tick : PACER_CREDIT_MS)) this.nextSlot = pacerNow - PACER_CREDIT_MS
    this.spacing = spacing
    this.tick = tick
    this.ticked = ticked
    return pacerNow
  }

  /** Whether a slot is free at the pass's clock. */
  open (pacerNow: number): boolean { return this.nextSlot <= pacerNow }

  /** Uses the next slot. */
  take (): void { this.nextSlot += this.spacing }

  /** With no slot free: when to wake for the next one (the next tick, never this millisecond again). */
  wakeAt (pacerNow: number, now: number): number {
    return this.ticked ? Math.max(pacerNow + this.tick, Math.floor(now) + 1) : this.nextSlot
  }
}
