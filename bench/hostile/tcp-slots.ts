/**
 * Opens TCP connections against the peer, each from a flood source address, until the flood's
 * deadline, in one of two ways:
 * - slots (default): holds `slots` connections and re-opens each one (after a jittered pause)
 *   when it closes: slowloris-style floods that occupy the peer's connection limit;
 * - paced (`ratePerSec`): opens connections at a fixed rate whatever the peer does (at most
 *   `slots` open at once), so every peer under test gets the same churn.
 * What a connection does once connected is the flood's behaviour; this file only opens them
 * and counts what happened to them.
 */
import net from 'node:net'
import type { FloodContext } from './flood-context.ts'
import type { SourcePool } from './sources.ts'

export interface SlotConn {
  readonly slot: number
  readonly socket: net.Socket
  connectedAt: number
  /** Closes from our side (not counted as closed by the peer). */
  close (): void
}

export interface SlotBehaviour {
  /** Connected: send the opening bytes, start timers (stop them on `closed`). */
  connected (conn: SlotConn): void
  data? (conn: SlotConn, chunk: Buffer): void
  closed? (conn: SlotConn, byPeer: boolean): void
}

export interface SlotOptions {
  slots: number
  /** Pause before re-opening a closed slot, jittered 0.5x-1.5x (0: at once). */
  reopenMs: number
  /** Stop opening new connections after this many in all (default: no cap). */
  maxConnections?: number
  sources: SourcePool
  /** Open at this rate instead of re-opening closed slots (`slots` caps how many are open). */
  ratePerSec?: number
  /** Another port than the peer's BitTorrent port (the HTTP face). */
  port?: number
}

export interface SlotStats {
  /** Connection attempts. */
  opened: number
  connected: number
  connectErrors: number
  /** Connected and then closed by the peer (not by us, not at the flood's end). */
  peerClosed: number
  /** Most connections open at once. */
  peakOpen: number
  /** For connections the peer closed: ms from connect to close, sorted. */
  lifetimesMs: number[]
  errors: Record<string, number>
  /** Paced mode: connections not opened because `slots` were already open. */
  skipped: number
}

/** After a refused or failed connect, wait at least this long: a dead peer must not make us spin. */
const CONNECT_ERROR_BACKOFF_MS = 100
/** Paced mode's timer: fine enough for a steady rate, coarse enough to cost nothing. */
const PACE_TICK_MS = 10

export function runSlots (ctx: FloodContext, options: SlotOptions, behaviour: SlotBehaviour): Promise<SlotStats> {
  const stats: SlotStats = { opened: 0, connected: 0, connectErrors: 0, peerClosed: 0, peakOpen: 0, lifetimesMs: [], errors: {}, skipped: 0 }
  const live = new Set<net.Socket>()
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let open = 0
  let ending = false
  const jitter = (ms: number): number => (ms <= 0 ? 0 : ms * (0.5 + ctx.rand()))

  return new Promise(resolve => {
    const maybeDone = (): void => { if (ending && live.size === 0) resolve(stats) }
    const later = (ms: number, fn: () => void): void => {
      const t = setTimeout(() => { timers.delete(t); fn() }, ms)
      timers.add(t)
    }
    const start = (slot: number): void => {
      if (ending || (options.maxConnections !== undefined && stats.opened >= options.maxConnections)) return
      stats.opened += 1
      const socket = net.connect({ host: ctx.host, port: options.port ?? ctx.port, localAddress: options.sources.take(), noDelay: true })
      live.add(socket)
      let connected = false
      let ours = false
      const conn: SlotConn = { slot, socket, connectedAt: 0, close: () => { ours = true; socket.destroy() } }
      socket.on('connect', () => {
        connected = true
        conn.connectedAt = performance.now()
        stats.connected += 1
        open += 1
        if (open > stats.peakOpen) stats.peakOpen = open
        if (!ending) behaviour.connected(conn)
      })
      if (behaviour.data) socket.on('data', (chunk: Buffer) => behaviour.data!(conn, chunk))
      socket.on('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? 'error'
        stats.errors[code] = (stats.errors[code] ?? 0) + 1
        if (!connected) stats.connectErrors += 1
      })
      socket.on('close', () => {
        live.delete(socket)
        const byPeer = connected && !ours && !ending
        if (connected) {
          open -= 1
          if (byPeer) {
            stats.peerClosed += 1
            stats.lifetimesMs.push(performance.now() - conn.connectedAt)
          }
        }
        behaviour.closed?.(conn, byPeer)
        if (ending) return maybeDone()
        if (options.ratePerSec !== undefined) return
        later(connected ? jitter(options.reopenMs) : Math.max(CONNECT_ERROR_BACKOFF_MS, options.reopenMs), () => start(slot))
      })
    }
    ctx.signal.addEventListener('abort', () => {
      ending = true
      for (const t of timers) clearTimeout(t)
      timers.clear()
      if (pacer) clearInterval(pacer)
      for (const s of live) s.destroy()
      stats.lifetimesMs.sort((a, b) => a - b)
      maybeDone()
    }, { once: true })
    let pacer: ReturnType<typeof setInterval> | null = null
    if (options.ratePerSec === undefined) {
      for (let slot = 0; slot < options.slots; slot++) start(slot)
    } else {
      // Catch up to rate x elapsed every tick; a connection not started because `slots` are
      // open is skipped, not queued (the count shows the shortfall).
      const rate = options.ratePerSec
      const t0 = performance.now()
      let due = 0
      pacer = setInterval(() => {
        const target = Math.min(Math.floor((rate * (performance.now() - t0)) / 1000), options.maxConnections ?? Infinity)
        for (; due < target; due++) {
          if (live.size < options.slots) start(due)
          else stats.skipped += 1
        }
      }, PACE_TICK_MS)
    }
  })
}

/** The median of a sorted list, or null when empty. */
export function median (sorted: number[]): number | null {
  return sorted.length === 0 ? null : sorted[Math.floor((sorted.length - 1) / 2)]
}

/** The percentile p (0-100) of a sorted list, or null when empty. */
export function percentileOf (sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

const ms = (v: number | null): string => (v === null ? '-' : v < 10_000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`)

/** The counts every slot flood reports, and the start of its one-line summary. */
export function slotCounts (stats: SlotStats): { counts: Record<string, number>, summary: string } {
  const counts: Record<string, number> = {
    opened: stats.opened,
    connected: stats.connected,
    connectErrors: stats.connectErrors,
    peerClosed: stats.peerClosed,
    peakOpen: stats.peakOpen,
    skipped: stats.skipped
  }
  for (const [code, n] of Object.entries(stats.errors)) counts[`error:${code}`] = n
  const lifetime = stats.peerClosed > 0 ? `, peer closed ${stats.peerClosed} after p50 ${ms(median(stats.lifetimesMs))}` : ', peer closed none'
  return { counts, summary: `${stats.opened} conns (peak ${stats.peakOpen} open${stats.connectErrors ? `, ${stats.connectErrors} failed to connect` : ''}${stats.skipped ? `, ${stats.skipped} skipped at the cap` : ''})${lifetime}` }
}
