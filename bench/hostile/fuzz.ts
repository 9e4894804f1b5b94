/**
 * Fuzz flood: `concurrent` connections, each a valid BitTorrent handshake followed by
 * `messagesPerConn` messages from mutate.ts (from a seeded PRNG; which connection gets which
 * depends on timing), then idle for up to `holdMs` or until the peer closes; re-opened at
 * once. A peer must close the connection or ignore the bytes, never crash or grow.
 */
import type { FloodContext, FloodResult } from './flood-context.ts'
import { handshake } from './bt-bytes.ts'
import { mutate, validMessage } from './mutate.ts'
import { SourcePool } from './sources.ts'
import { runSlots, slotCounts, type SlotConn } from './tcp-slots.ts'

export async function run (ctx: FloodContext): Promise<FloodResult> {
  const sources = new SourcePool(ctx.params.sources, ctx.params.perSubnet)
  const timers = new Map<SlotConn, ReturnType<typeof setTimeout>>()
  let messages = 0
  let bytes = 0
  const other = (): Buffer => validMessage(ctx.rand)
  const stats = await runSlots(ctx, { slots: ctx.params.concurrent, reopenMs: 0, sources }, {
    connected (conn) {
      const out: Buffer[] = [handshake(ctx.pickInfoHash())]
      for (let i = 0; i < ctx.params.messagesPerConn; i++) {
        const m = validMessage(ctx.rand)
        // A few stay valid, so the session gets far enough for later mutations to matter.
        out.push(ctx.rand() < 0.2 ? m : mutate(m, ctx.rand, other))
      }
      const chunk = Buffer.concat(out)
      messages += ctx.params.messagesPerConn
      bytes += chunk.length
      conn.socket.write(chunk)
      timers.set(conn, setTimeout(() => conn.close(), ctx.params.holdMs))
    },
    closed (conn) {
      clearTimeout(timers.get(conn))
      timers.delete(conn)
    }
  })
  const { counts, summary } = slotCounts(stats)
  return {
    counts: { ...counts, messages, bytes },
    units: stats.connected,
    unit: 'conns',
    summary: `${messages} mutated messages (${(bytes / 2 ** 20).toFixed(1)} MiB, seed ${ctx.seed}): ${summary}`
  }
}
