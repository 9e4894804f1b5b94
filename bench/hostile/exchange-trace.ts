/**
 * The leecher's side of a traced run (`--trace`): when each exchange reached each of its
 * phases, read off its socket without touching the exchange code (bench/bep9-client.ts): the
 * next socket `net.connect` returns is watched by a second 'data' listener that splits the
 * stream into the peer's handshake and its messages.
 *   connect    TCP connect completed (a SYN the kernel dropped shows here as ~1 s, 3 s...)
 *   reply      first byte of the peer's handshake (the peer accepted and read ours)
 *   extended   the peer's extended handshake complete (metadata_size known, request sent)
 *   piece      the first ut_metadata data message complete
 * `done` is the exchange's end as the leecher counts it. All in ms after the exchange started;
 * `at` is its start in epoch ms (performance.timeOrigin + now()), like the peer probe's times.
 * Also notes the leecher's own event-loop stalls (ticks of a 10 ms timer more than 5 ms late),
 * so an exchange slowed by the leecher waiting for a CPU is told from one the peer slowed.
 */
import net from 'node:net'

export interface ExchangePhases {
  at: number
  connect?: number
  reply?: number
  extended?: number
  piece?: number
  done?: number
  error?: string
}

const MSG_EXTENDED = 20
const HANDSHAKE = 68
const TICK_MS = 10
const STALL_MS = 5

export class ExchangeTracer {
  readonly exchanges: ExchangePhases[] = []
  readonly stalls: Array<[number, number]> = []
  private pending: ExchangePhases | null = null

  constructor () {
    const connect = net.connect
    const tracer = this
    // bep9-client calls net.connect on the default export at call time: this sees its socket.
    net.connect = function (this: unknown, ...args: unknown[]) {
      const socket = (connect as (...a: unknown[]) => net.Socket).apply(this, args)
      const phases = tracer.pending
      tracer.pending = null
      if (phases) tracer.watch(socket, phases)
      return socket
    } as typeof net.connect
    let due = performance.now() + TICK_MS
    setInterval(() => {
      const now = performance.now()
      if (now - due > STALL_MS) this.stalls.push([Math.round(performance.timeOrigin + due), Math.round((now - due) * 10) / 10])
      due = now + TICK_MS
    }, TICK_MS).unref()
  }

  /** Call right before starting an exchange; returns its record (fill `done` / `error`). */
  begin (t0: number): ExchangePhases {
    const phases: ExchangePhases = { at: performance.timeOrigin + t0 }
    this.pending = phases
    this.exchanges.push(phases)
    return phases
  }

  private watch (socket: net.Socket, p: ExchangePhases): void {
    const t0 = p.at - performance.timeOrigin
    const since = (): number => Math.round((performance.now() - t0) * 100) / 100
    let seen = 0
    let next = HANDSHAKE // stream offset where the next message starts
    let head: Buffer = Buffer.alloc(0)
    socket.once('connect', () => { p.connect = since() })
    socket.on('data', (chunk: Buffer) => {
      if (p.reply === undefined) p.reply = since()
      const end = seen + chunk.length
      // Walk the message heads that start inside this chunk (a head may straddle chunks).
      while (next < end && p.piece === undefined) {
        const from = Math.max(0, next - seen)
        head = Buffer.concat([head, chunk.subarray(from, from + 6 - head.length)])
        if (head.length < 6) break
        const length = head.readUInt32BE(0)
        const isExt = length >= 2 && head[4] === MSG_EXTENDED
        const complete = next + 4 + length <= end
        if (!complete) break
        if (isExt && head[5] === 0 && p.extended === undefined) p.extended = since()
        else if (isExt && head[5] !== 0 && p.piece === undefined) p.piece = since()
        next += 4 + length
        head = Buffer.alloc(0)
      }
      seen = end
    })
  }
}
