/**
 * MSE garbage: connections opened at `rate` per second (at most `maxOpen` at once), each
 * opening with 96-608 random bytes, which is what an MSE/PE (encrypted) handshake looks like:
 * a Diffie-Hellman public key plus random padding. A peer that accepts encryption must do a
 * DH exchange before it can tell this is garbage; the flood waits for the peer's 96-byte
 * reply (its key) or its close, up to `holdMs`, and closes.
 */
import { randomBytes } from 'node:crypto'
import type { FloodContext, FloodResult } from './flood-context.ts'
import { SourcePool } from './sources.ts'
import { runSlots, slotCounts, type SlotConn } from './tcp-slots.ts'

/** The DH public key in MSE is 768 bits. */
const MSE_KEY_BYTES = 96
const MAX_PAD = 512

export async function run (ctx: FloodContext): Promise<FloodResult> {
  const sources = new SourcePool(ctx.params.sources, ctx.params.perSubnet)
  // One pool of random bytes, sliced at random offsets: randomBytes per connection would cost
  // the generator more than the garbage costs us to send.
  const pool = randomBytes(64 * 1024)
  const state = new Map<SlotConn, { got: number, timer: ReturnType<typeof setTimeout> }>()
  let answered = 0
  let unanswered = 0
  let bytes = 0
  const stats = await runSlots(ctx, { slots: ctx.params.maxOpen, reopenMs: 0, ratePerSec: ctx.params.rate, sources }, {
    connected (conn) {
      const length = MSE_KEY_BYTES + Math.floor(ctx.rand() * (MAX_PAD + 1))
      const at = Math.floor(ctx.rand() * (pool.length - length))
      const out = Buffer.from(pool.subarray(at, at + length))
      if (out[0] === 19) out[0] = 0x20 // never the start of a plain BitTorrent handshake
      bytes += out.length
      conn.socket.write(out)
      state.set(conn, { got: 0, timer: setTimeout(() => { unanswered += 1; conn.close() }, ctx.params.holdMs) })
    },
    data (conn, chunk) {
      const s = state.get(conn)
      if (!s) return
      s.got += chunk.length
      if (s.got >= MSE_KEY_BYTES) {
        answered += 1
        clearTimeout(s.timer)
        state.delete(conn)
        conn.close()
      }
    },
    closed (conn) {
      const s = state.get(conn)
      if (s) clearTimeout(s.timer)
      state.delete(conn)
    }
  })
  const { counts, summary } = slotCounts(stats)
  return {
    counts: { ...counts, answered, unanswered, bytes },
    units: stats.connected,
    unit: 'conns',
    summary: `random-byte openings at ${ctx.params.rate}/s: ${summary}, ${answered} got a DH key back within ${ctx.params.holdMs / 1000} s${answered < 0.9 * stats.connected ? ' (the peer fell behind: its CPU per conn is a lower bound, the backlog was not done when the run ended)' : ''}`
  }
}
