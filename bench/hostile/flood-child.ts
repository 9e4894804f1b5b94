/**
 * The flood process (forked by bench/hostile.ts, never in the peer's or the leecher's process):
 * loads one flood module, runs it for its duration, reports what it sent and its own CPU use.
 *
 *   parent -> {type: 'config', config}   child loads the module  -> {type: 'ready'}
 *   parent -> {type: 'go'}                child floods, stops     -> {type: 'result', ...FloodReport}
 * The child exits when the parent goes away, so a flood never outlives the bench.
 */
import { prng } from '../corpus.ts'
import type { FloodConfig, FloodContext, FloodReport, FloodResult } from './flood-context.ts'

type FloodModule = { run: (ctx: FloodContext) => Promise<FloodResult> }

let config: FloodConfig | null = null
let mod: FloodModule | null = null

process.on('disconnect', () => process.exit(0))

process.on('message', (msg: { type: string, config?: FloodConfig }) => {
  if (msg.type === 'config' && msg.config) {
    config = msg.config
    import(new URL(config.module, import.meta.url).href).then((m: FloodModule) => {
      mod = m
      process.send!({ type: 'ready' })
    }, (err: Error) => {
      process.send!({ type: 'failed', message: err.stack ?? err.message })
    })
  } else if (msg.type === 'go' && config && mod) {
    const c = config
    const rand = prng(c.seed)
    const ac = new AbortController()
    const ctx: FloodContext = { ...c, signal: ac.signal, rand, pickInfoHash: () => c.infoHashes[Math.floor(rand() * c.infoHashes.length)] }
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    setTimeout(() => ac.abort(), c.durationMs)
    mod.run(ctx).then(result => {
      const cpu = process.cpuUsage(cpu0)
      const report: FloodReport = { ...result, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0 }
      process.send!({ type: 'result', report }, () => process.exit(0))
    }, (err: Error) => {
      process.send!({ type: 'failed', message: err.stack ?? err.message }, () => process.exit(1))
    })
  }
})
