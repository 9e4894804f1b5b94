/**
 * Bad ut_metadata: after a valid handshake, an extended handshake that disables ut_metadata
 * (BEP 10's `m: {ut_metadata: 0}`, or `m: {}`, or `m: []`, or a valid one then a second that
 * sets 0), then a ut_metadata request (piece 0, out of range, or negative) on the id the peer
 * announced. A correct peer ignores or closes that one connection; on current main this kills
 * torrent-fish (the bench records the death). `concurrent` connections, re-opened after
 * `reopenMs`.
 */
import type { FloodContext, FloodResult } from './flood-context.ts'
import { MSG_EXTENDED, PeerReader, extHandshake, handshake, metadataRequest } from './bt-bytes.ts'
import { SourcePool } from './sources.ts'
import { runSlots, slotCounts, type SlotConn } from './tcp-slots.ts'

const VARIANTS: Array<{ name: string, first: unknown, second?: unknown }> = [
  { name: 'zero', first: { ut_metadata: 0 } },
  { name: 'empty', first: {} },
  { name: 'list', first: [] },
  { name: 'second', first: { ut_metadata: 1 }, second: { ut_metadata: 0 } }
]
const PIECES = [0, 1_000_000, -1]

export async function run (ctx: FloodContext): Promise<FloodResult> {
  const sources = new SourcePool(ctx.params.sources, ctx.params.perSubnet)
  const state = new Map<SlotConn, { reader: PeerReader, timer: ReturnType<typeof setTimeout> }>()
  let attempts = 0
  let requests = 0
  let answered = 0
  let noExtHandshake = 0
  const stats = await runSlots(ctx, { slots: ctx.params.concurrent, reopenMs: ctx.params.reopenMs, sources }, {
    connected (conn) {
      const variant = VARIANTS[attempts % VARIANTS.length]
      const piece = PIECES[Math.floor(attempts / VARIANTS.length) % PIECES.length]
      attempts += 1
      let requested = false
      const reader = new PeerReader(m => {
        // A ut_metadata message (data or reject) after our request: the peer answered a peer
        // that said it does not speak ut_metadata, on some extension id it has no right to use.
        if (requested && m.id === MSG_EXTENDED && m.payload.includes('8:msg_type')) answered += 1
      })
      const timer = setTimeout(() => { if (!requested) noExtHandshake += 1; conn.close() }, ctx.params.holdMs)
      state.set(conn, { reader, timer })
      conn.socket.write(Buffer.concat([handshake(ctx.pickInfoHash()), extHandshake(variant.first)]))
      conn.socket.on('data', (chunk: Buffer) => {
        if (!reader.push(chunk)) return conn.close()
        if (requested || reader.peerUtMetadata === undefined) return
        requested = true
        requests += 1
        const out = [metadataRequest(reader.peerUtMetadata, piece)]
        if (variant.second) out.unshift(extHandshake(variant.second))
        conn.socket.write(Buffer.concat(out))
      })
    },
    closed (conn) {
      const s = state.get(conn)
      if (s) clearTimeout(s.timer)
      state.delete(conn)
    }
  })
  const { counts, summary } = slotCounts(stats)
  return {
    counts: { ...counts, requests, answered, noExtHandshake },
    units: requests,
    unit: 'requests',
    summary: `${requests} requests after ut_metadata 0/{}/[]/second handshake: ${summary}${answered ? `, ${answered} answered` : ''}`
  }
}
