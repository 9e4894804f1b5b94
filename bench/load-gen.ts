/**
 * Load generator process (forked by bench/run.ts, never torrent-fish itself): keeps
 * `concurrency` metadata exchanges in flight against one peer, each a fresh TCP connection,
 * handshakes, every metadata piece, a SHA-1 check, close.
 *
 * Protocol over the IPC channel, so the parent samples the peer's CPU exactly around the
 * measured window:
 *   parent -> {type: 'config', ...GenConfig}   child warms up, drains, -> {type: 'ready'}
 *   parent -> {type: 'go', durationMs}          child measures, drains, -> {type: 'result', ...}
 */
import { fetchMetadata, ExchangeError, type FetchOptions } from './bep9-client.ts'
import { fetchMetadataWire } from './wire-client.ts'
import { prng, type CorpusEntry, type SizeClass } from './corpus.ts'

export type ClientKind = 'raw' | 'wire'

export interface GenConfig {
  host: string
  port: number
  concurrency: number
  client: ClientKind
  targets: CorpusEntry[]
  seed: number
  warmupMs: number
  timeoutMs: number
  /** Metadata requests outstanding per exchange (0 = all at once). */
  window: number
}

export interface GenResult {
  exchanges: number
  /** Metadata bytes fetched and verified. */
  bytes: number
  errors: Record<string, number>
  /** Exchange latencies in ms, per size class. */
  latencies: Record<SizeClass, number[]>
  /** This process's own CPU time (user + system) during the window. */
  cpuMs: number
  wallMs: number
}

const clients: Record<ClientKind, (o: FetchOptions) => Promise<number>> = { raw: fetchMetadata, wire: fetchMetadataWire }

async function runFor (config: GenConfig, durationMs: number, rand: () => number): Promise<GenResult> {
  const fetch = clients[config.client]
  const result: GenResult = { exchanges: 0, bytes: 0, errors: {}, latencies: { small: [], medium: [], large: [] }, cpuMs: 0, wallMs: 0 }
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const deadline = t0 + durationMs
  // Each exchange slot is its own /24 in 127.0.0.0/8, as leechers on the internet are: 128
  // connections from one address would meet the per-IP caps on connections still
  // handshaking, which protect the peer from exactly that. Within its /24 a slot takes the
  // next host address for every exchange: we close first, so each exchange leaves a
  // TIME_WAIT socket holding its source address and port for 60 s, and bind() (which picks
  // the port before it knows the peer) searches past every one held on that address. With
  // one address per slot, 16 slots at ~4,000 exchanges/s reach ~7,000 of them per address
  // within a minute and the search ran the generator's core at 100% in the kernel
  // (inet_bind2_bucket_find), 200-600 exchanges/s for every peer.
  const loopback = config.host === '127.0.0.1'
  const worker = async (slot: number): Promise<void> => {
    const subnet = `127.${1 + (slot % 250)}.${1 + (Math.floor(slot / 250) % 250)}.`
    let host = slot
    while (performance.now() < deadline) {
      const localAddress = loopback ? subnet + String(1 + (host++ % 254)) : undefined
      const target = config.targets[Math.floor(rand() * config.targets.length)]
      const start = performance.now()
      try {
        const size = await fetch({ host: config.host, port: config.port, infoHash: target.h, timeoutMs: config.timeoutMs, window: config.window, localAddress })
        if (size !== target.s) throw new ExchangeError('wrong-size', `metadata_size ${size}, expected ${target.s}`)
        result.latencies[target.c].push(performance.now() - start)
        result.exchanges += 1
        result.bytes += size
      } catch (err) {
        const code = err instanceof ExchangeError ? err.code : 'unexpected'
        result.errors[code] = (result.errors[code] ?? 0) + 1
      }
    }
  }
  await Promise.all(Array.from({ length: config.concurrency }, (_, slot) => worker(slot)))
  result.wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  result.cpuMs = (cpu.user + cpu.system) / 1000
  return result
}

let config: GenConfig | null = null
let rand: () => number = Math.random

process.on('message', (msg: { type: string } & Record<string, any>) => {
  if (msg.type === 'config') {
    config = msg as unknown as GenConfig
    rand = prng(config.seed)
    void runFor(config, config.warmupMs, rand).then(warm => process.send!({ type: 'ready', warmup: { exchanges: warm.exchanges, errors: warm.errors } }))
  } else if (msg.type === 'go' && config) {
    void runFor(config, msg.durationMs, rand).then(result => process.send!({ type: 'result', ...result }))
  } else if (msg.type === 'exit') {
    process.disconnect?.()
  }
})
