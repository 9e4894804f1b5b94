/**
 * One owner for a service's parts: each part has a small lifecycle (`start`, `close`, an
 * optional `status()` for /health and `listening()` for what it accepts connections on).
 * Parts start in order and close in reverse, so a part may rely on every part before it for
 * its whole life. A part whose start fails closes the ones already started (reverse order)
 * and the error propagates. Isomorphic.
 */

/** A transport or service module accepting connections on an address. */
export interface ListeningAddress {
  name: string
  address: string
  port: number
}

export interface Part {
  /** For logs and /health: `tcp`, `utp`, `webrtc`, `discovery`, `http`... */
  readonly name: string
  start (): Promise<void> | void
  /** Safe to call twice, and without start. */
  close (): Promise<void> | void
  status? (): unknown
  listening? (): ListeningAddress[]
}

export class Parts {
  private readonly list: Part[] = []
  private readonly started: Part[] = []
  private readonly onCloseError: (err: unknown, part: Part) => void

  constructor (onCloseError: (err: unknown, part: Part) => void) {
    this.onCloseError = onCloseError
  }

  /** Adds a part at the end of the start order. */
  add<P extends Part> (part: P): P {
    this.list.push(part)
    return part
  }

  /** Starts every part not started yet, in order. */
  async start (): Promise<void> {
    for (const part of this.list) {
      if (this.started.includes(part)) continue
      await part.start()
      this.started.push(part)
    }
  }

  /** Closes the parts in reverse order of start; a failing close is reported, the rest still close. */
  async close (): Promise<void> {
    const all = [...new Set([...this.started, ...this.list])].reverse()
    this.started.length = 0
    for (const part of all) {
      try { await part.close() } catch (err) { this.onCloseError(err, part) }
    }
  }

  get (name: string): Part | undefined { return this.list.find(p => p.name === name) }

  names (): string[] { return this.list.map(p => p.name) }

  /** What every part listens on, in start order. */
  listening (): ListeningAddress[] {
    return this.list.flatMap(p => p.listening?.() ?? [])
  }

  /** Each part's status, by name. */
  status (): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const p of this.list) if (p.status) out[p.name] = p.status()
    return out
  }
}
