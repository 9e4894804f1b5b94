/**
 * The correct leecher (its own process, forked by bench/hostile.ts): starts one BEP 9 exchange
 * (bench/bep9-client.ts: connect, handshake, fetch and SHA-1-check the info dict, close) every
 * 1/rate s whatever happened to the previous ones (open loop: a stalled peer cannot slow the
 * leecher down and so hide its own latency), and, when given the peer's HTTP URL, one GET of
 * /<infohash>.torrent at the same rate. Each attempt is counted in the phase it started in.
 *
 *   parent -> {type: 'config', ...LeecherConfig}  -> {type: 'ready'} after a few warm-up exchanges
 *   parent -> {type: 'phase', name}               later attempts count under `name`
 *   parent -> {type: 'stop'}                      stops starting, waits for the ones in flight
 *                                                 -> {type: 'result', phases}
 */
import http from 'node:http'
import { fetchMetadata, ExchangeError } from '../bep9-client.ts'
import { prng, type CorpusEntry } from '../corpus.ts'
import { ExchangeTracer } from './exchange-trace.ts'

export interface LeecherConfig {
  host: string
  port: number
  /** Exchanges started per second. */
  rate: number
  timeoutMs: number
  targets: CorpusEntry[]
  seed: number
  /** Also probe the HTTP face: GET <httpUrl>/<infohash>.torrent. */
  httpUrl?: string
  /** Record every exchange's phases and the leecher's own stalls (exchange-trace.ts). */
  trace?: boolean
}

export interface Attempts {
  started: number
  ok: number
  /** Latencies of the successful attempts, ms. */
  latencies: number[]
  /** When each of those started, ms after the phase began (which part of a flood was slow). */
  startedAtMs: number[]
  /**
   * Attempts that failed with an answer from the peer (a reset or a close, not a timeout): how
   * long that answer took and when they started. A peer that refuses newcomers answers by
   * refusing, and how soon shows where its accept queue stood.
   */
  refusedMs: number[]
  refusedAtMs: number[]
  errors: Record<string, number>
}

export interface PhaseResult {
  bep9: Attempts
  http?: Attempts
}

const WARMUP_EXCHANGES = 5

const empty = (): Attempts => ({ started: 0, ok: 0, latencies: [], startedAtMs: [], refusedMs: [], refusedAtMs: [], errors: {} })

function httpFetch (url: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, res => {
      let bytes = 0
      res.on('data', (c: Buffer) => { bytes += c.length })
      res.on('end', () => (res.statusCode === 200 && bytes > 0 ? resolve() : reject(new ExchangeError(`http-${res.statusCode}`, `status ${res.statusCode}`))))
      res.on('error', err => reject(new ExchangeError('http-socket', err.message)))
    })
    req.on('timeout', () => req.destroy(new ExchangeError('timeout', `no answer within ${timeoutMs} ms`)))
    req.on('error', err => reject(err instanceof ExchangeError ? err : new ExchangeError('http-socket', err.message)))
  })
}

let config: LeecherConfig | null = null
const phases = new Map<string, PhaseResult>()
let phase: PhaseResult | null = null
let phaseStart = 0
let timer: ReturnType<typeof setInterval> | null = null
const inFlight = new Set<Promise<void>>()
let tracer: ExchangeTracer | null = null

function attempt (bucket: Attempts, run: () => Promise<unknown>, traced = false): void {
  bucket.started += 1
  const t0 = performance.now()
  const at = t0 - phaseStart
  const phases = traced && tracer ? tracer.begin(t0) : null
  const p = run().then(() => {
    bucket.ok += 1
    bucket.latencies.push(performance.now() - t0)
    bucket.startedAtMs.push(at)
    if (phases) phases.done = Math.round((performance.now() - t0) * 100) / 100
  }, (err: unknown) => {
    // bep9-client reports every socket error as 'socket'; keep the errno (ECONNRESET, ETIMEDOUT...).
    const code = !(err instanceof ExchangeError) ? 'unexpected' : err.code === 'socket' || err.code === 'http-socket' ? `${err.code}:${/\b(E[A-Z]+)\b/.exec(err.message)?.[1] ?? 'other'}` : err.code
    bucket.errors[code] = (bucket.errors[code] ?? 0) + 1
    if (phases) phases.error = code
    if (code !== 'timeout' && code !== 'unexpected') {
      bucket.refusedMs.push(performance.now() - t0)
      bucket.refusedAtMs.push(at)
    }
  }).finally(() => inFlight.delete(p))
  inFlight.add(p)
}

process.on('disconnect', () => process.exit(0))

process.on('message', (msg: { type: string, name?: string } & Partial<LeecherConfig>) => {
  if (msg.type === 'config') {
    const c = msg as unknown as LeecherConfig
    config = c
    if (c.trace) tracer = new ExchangeTracer()
    const rand = prng(c.seed)
    const pick = (): CorpusEntry => c.targets[Math.floor(rand() * c.targets.length)]
    const exchange = (): Promise<void> => {
      const target = pick()
      return fetchMetadata({ host: c.host, port: c.port, infoHash: target.h, timeoutMs: c.timeoutMs }).then(size => {
        if (size !== target.s) throw new ExchangeError('wrong-size', `metadata_size ${size}, expected ${target.s}`)
      })
    }
    const probe = (): Promise<void> => httpFetch(`${c.httpUrl}/${pick().h}.torrent`, c.timeoutMs)
    void (async () => {
      // Warm-up (JIT, first connections), not counted: a failure here means the peer is not serving.
      const warm = empty()
      for (let i = 0; i < WARMUP_EXCHANGES; i++) { attempt(warm, exchange); await Promise.all(inFlight) }
      if (warm.ok === 0) return process.send!({ type: 'failed', message: `warm-up exchanges failed: ${JSON.stringify(warm.errors)}` })
      timer = setInterval(() => {
        if (!phase) return
        attempt(phase.bep9, exchange, true)
        if (c.httpUrl && phase.http) attempt(phase.http, probe)
      }, 1000 / c.rate)
      process.send!({ type: 'ready' })
    })()
  } else if (msg.type === 'phase' && config && msg.name) {
    phase = { bep9: empty(), ...(config.httpUrl ? { http: empty() } : {}) }
    phaseStart = performance.now()
    phases.set(msg.name, phase)
  } else if (msg.type === 'stop') {
    if (timer) clearInterval(timer)
    phase = null
    void Promise.all(inFlight).then(() => process.send!({ type: 'result', phases: Object.fromEntries(phases), ...(tracer ? { trace: { exchanges: tracer.exchanges, stalls: tracer.stalls } } : {}) }))
  }
})
