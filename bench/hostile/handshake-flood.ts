/**
 * Handshake flood: `connections` (40k) connections opened at a steady rate over the flood,
 * each from a flood source address, each sending a valid BitTorrent handshake and extended
 * handshake for a torrent the peer holds, then sitting idle until the peer closes it or the
 * flood ends (at most `maxOpen` open at once).
 */
import type { FloodContext, FloodResult } from './flood-context.ts'
import { extHandshake, handshake } from './bt-bytes.ts'
import { SourcePool } from './sources.ts'
import { runSlots, slotCounts, type SlotConn } from './tcp-slots.ts'

export async function run (ctx: FloodContext): Promise<FloodResult> {
  const sources = new SourcePool(ctx.params.sources, ctx.params.perSubnet)
  const ext = extHandshake({ ut_metadata: 1 })
  const received = new Map<SlotConn, number>()
  let answered = 0
  const stats = await runSlots(ctx, {
    slots: ctx.params.maxOpen,
    reopenMs: 0,
    ratePerSec: ctx.params.connections / (ctx.durationMs / 1000),
    maxConnections: ctx.params.connections,
    sources
  }, {
    connected (conn) {
      conn.socket.write(Buffer.concat([handshake(ctx.pickInfoHash()), ext]))
      received.set(conn, 0)
    },
    data (conn, chunk) {
      const before = received.get(conn) ?? 0
      received.set(conn, before + chunk.length)
      if (before < 68 && before + chunk.length >= 68) answered += 1
    },
    closed (conn) { received.delete(conn) }
  })
  const { counts, summary } = slotCounts(stats)
  return { counts: { ...counts, answered }, units: stats.opened, unit: 'conns', summary: `handshakes at ${Math.round(ctx.params.connections / (ctx.durationMs / 1000))}/s: ${summary}, ${answered} answered` }
}
