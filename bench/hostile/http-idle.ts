/**
 * Idle keep-alive HTTP connections against `--http`: `connections` connections from many
 * source addresses, each sending one whole request (`GET /health`, kept alive), reading its
 * reply and then sending nothing, never closing; re-opened after ~reopenMs when the server
 * closes them. What node:http holds, not what waits in the header gate.
 */
import type { FloodContext, FloodResult } from './flood-context.ts'
import { SourcePool } from './sources.ts'
import { runSlots, slotCounts } from './tcp-slots.ts'

export async function run (ctx: FloodContext): Promise<FloodResult> {
  if (!ctx.httpPort) throw new Error('http-idle needs the peer\'s HTTP port')
  const sources = new SourcePool(ctx.params.sources, ctx.params.perSubnet)
  const request = Buffer.from(`GET /health HTTP/1.1\r\nHost: ${ctx.host}\r\n\r\n`, 'latin1')
  let replies = 0
  const stats = await runSlots(ctx, { slots: ctx.params.connections, reopenMs: ctx.params.reopenMs, sources, port: ctx.httpPort }, {
    connected (conn) {
      conn.socket.write(request)
      conn.socket.once('data', () => { replies += 1 })
    }
  })
  const { counts, summary } = slotCounts(stats)
  return { counts: { ...counts, replies }, units: stats.opened, unit: 'conns', summary: `${ctx.params.connections} idle keep-alive requests from ${sources.count} addrs, ${replies} answered: ${summary}` }
}
