/**
 * Silent slowloris: `connections` TCP connections (10x the peer's limit) from many source
 * addresses that connect and send nothing, each re-opened after ~reopenMs when the peer
 * closes it. They hold connection slots until the peer's handshake deadline.
 */
import type { FloodContext, FloodResult } from './flood-context.ts'
import { SourcePool } from './sources.ts'
import { runSlots, slotCounts } from './tcp-slots.ts'

export async function run (ctx: FloodContext): Promise<FloodResult> {
  const sources = new SourcePool(ctx.params.sources, ctx.params.perSubnet)
  const stats = await runSlots(ctx, { slots: ctx.params.connections, reopenMs: ctx.params.reopenMs, sources }, { connected () {} })
  const { counts, summary } = slotCounts(stats)
  return { counts, units: stats.opened, unit: 'conns', summary: `${ctx.params.connections} silent from ${sources.count} addrs in ${sources.subnets} /24s: ${summary}` }
}
