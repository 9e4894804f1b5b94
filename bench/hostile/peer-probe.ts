/**
 * Loaded into the peer under test with `node --import` when the bench traces a run
 * (`--trace`): nothing of it is in torrent-fish itself. It writes, at exit, to the file named
 * by TF_PEER_TRACE:
 * - the event loop's stalls: a 10 ms interval timer notes every tick that came more than
 *   STALL_MS late, with the wall-clock time it was due (a stall is the peer doing one long
 *   piece of work, or waiting for a CPU);
 * - garbage collections (PerformanceObserver 'gc'): start, duration, kind;
 * - connections built (a TCP handle that started reading: a net.Socket's, or one the session
 *   serves from the accepted handle itself) and closed, per BUCKET_MS (handles the accept gate
 *   closed before anything was built are in neither);
 * - the event loop delay histogram (perf_hooks monitorEventLoopDelay) over the whole run.
 * Times are epoch milliseconds (performance.timeOrigin + now()), so the bench can line them up
 * with the leecher's exchanges, which it records the same way.
 */
import { writeFileSync } from 'node:fs'
import { monitorEventLoopDelay, PerformanceObserver, constants } from 'node:perf_hooks'

const out = process.env.TF_PEER_TRACE
const TICK_MS = 10
/** A tick this late is a stall worth a line. */
const STALL_MS = 5
const BUCKET_MS = 50

const epoch = (): number => performance.timeOrigin + performance.now()
/** [due epoch ms, ms late, ms of CPU the process used meanwhile (all threads)]. */
const stalls: Array<[number, number, number]> = []
const gcs: Array<[number, number, number]> = []
const accepts = new Map<number, number>()
const destroys = new Map<number, number>()
const count = (m: Map<number, number>): void => {
  const b = Math.floor(epoch() / BUCKET_MS) * BUCKET_MS
  m.set(b, (m.get(b) ?? 0) + 1)
}

if (out) {
  // CPU used across a stall tells the peer's own work (CPU ~ the stall) from waiting for a CPU.
  let due = performance.now() + TICK_MS
  let cpu = process.cpuUsage()
  setInterval(() => {
    const now = performance.now()
    const late = now - due
    const c = process.cpuUsage()
    if (late > STALL_MS) stalls.push([Math.round(performance.timeOrigin + due), Math.round(late * 10) / 10, Math.round((c.user + c.system - cpu.user - cpu.system) / 100) / 10])
    cpu = c
    due = now + TICK_MS
  }, TICK_MS).unref()

  const kinds: Record<number, string> = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb' }
  const gcKind = (e: PerformanceEntry): number => ((e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0)
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) gcs.push([Math.round(performance.timeOrigin + e.startTime), Math.round(e.duration * 100) / 100, gcKind(e)])
  }).observe({ entryTypes: ['gc'] })

  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()

  // At the handle, where both kinds of connection meet: net's own sockets and the handle
  // streams (src/adapters/node-tcp-handle.ts) both start reading an accepted handle and close it.
  type Method = (this: object, ...a: unknown[]) => unknown
  const tcp = (process as unknown as { binding (n: string): { TCP: { prototype: Record<string, Method> } } }).binding('tcp_wrap').TCP.prototype
  const reading = new WeakSet<object>()
  const readStart = tcp.readStart
  tcp.readStart = function (this: object, ...a: unknown[]) {
    if (!reading.has(this)) { reading.add(this); count(accepts) }
    return readStart.apply(this, a)
  }
  const close = tcp.close
  tcp.close = function (this: object, ...a: unknown[]) {
    if (reading.delete(this)) count(destroys)
    return close.apply(this, a)
  }

  process.once('exit', () => {
    histogram.disable()
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100
    writeFileSync(out, JSON.stringify({
      pid: process.pid,
      stallMs: STALL_MS,
      stalls,
      gcKinds: kinds,
      gcs,
      acceptBucketMs: BUCKET_MS,
      accepts: [...accepts],
      destroys: [...destroys],
      loopDelay: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) },
      memory: process.memoryUsage()
    }))
  })
}
