/**
 * Oversize frames: `concurrent` connections, each a valid handshake and extended handshake
 * followed by a message whose length prefix is beyond any sane cap (256 KiB + 1, 1 MiB + 1,
 * 16 MiB + 1, 4 GiB - 1) and the first KiB of its body; measures how soon the peer closes
 * (a peer that buffers instead would hold the connection until `holdMs`, when we give up).
 */
import type { FloodContext, FloodResult } from './flood-context.ts'
import { extHandshake, handshake } from './bt-bytes.ts'
import { SourcePool } from './sources.ts'
import { percentileOf, runSlots, slotCounts, type SlotConn } from './tcp-slots.ts'

const LENGTHS = [256 * 1024 + 1, 1024 * 1024 + 1, 16 * 1024 * 1024 + 1, 0xffffffff]

export async function run (ctx: FloodContext): Promise<FloodResult> {
  const sources = new SourcePool(ctx.params.sources, ctx.params.perSubnet)
  const ext = extHandshake({ ut_metadata: 1 })
  const body = Buffer.alloc(1024, 0x61)
  const sent = new Map<SlotConn, { at: number, timer: ReturnType<typeof setTimeout> }>()
  const closeMs: number[] = []
  let frames = 0
  let held = 0
  const stats = await runSlots(ctx, { slots: ctx.params.concurrent, reopenMs: 0, sources }, {
    connected (conn) {
      const header = Buffer.alloc(5)
      header.writeUInt32BE(LENGTHS[frames % LENGTHS.length], 0)
      header[4] = 20 // extended: the message a peer has most reason to buffer
      frames += 1
      conn.socket.write(Buffer.concat([handshake(ctx.pickInfoHash()), ext, header, body]))
      sent.set(conn, { at: performance.now(), timer: setTimeout(() => { held += 1; conn.close() }, ctx.params.holdMs) })
    },
    closed (conn, byPeer) {
      const s = sent.get(conn)
      if (!s) return
      clearTimeout(s.timer)
      sent.delete(conn)
      if (byPeer) closeMs.push(performance.now() - s.at)
    }
  })
  closeMs.sort((a, b) => a - b)
  const { counts } = slotCounts(stats)
  const p = (q: number): string => (closeMs.length ? `${percentileOf(closeMs, q)!.toFixed(1)}` : '-')
  return {
    counts: { ...counts, frames, held, closedP50Ms: percentileOf(closeMs, 50) ?? -1, closedP99Ms: percentileOf(closeMs, 99) ?? -1 },
    units: frames,
    unit: 'frames',
    summary: `${frames} oversize frames on ${ctx.params.concurrent} conns: peer closed ${closeMs.length} (p50 ${p(50)} ms, p99 ${p(99)} ms), ${held} still open after ${ctx.params.holdMs / 1000} s`
  }
}
