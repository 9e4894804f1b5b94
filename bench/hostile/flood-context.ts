/**
 * What a flood generator gets from the bench and gives back. Each flood is a module with one
 * `run(ctx)` function, executed in its own process by flood-child.ts; it must stop by itself
 * when `ctx.signal` aborts (the flood's duration is up) and resolve with what it sent.
 */

export interface FloodConfig {
  /** The flood's module file, relative to bench/hostile/. */
  module: string
  host: string
  /** The peer's BitTorrent port (TCP and uTP). */
  port: number
  /** The peer's HTTP port, for floods aimed at `--http`. */
  httpPort?: number
  /** Info hashes the peer holds, for floods that need a valid handshake. */
  infoHashes: string[]
  durationMs: number
  seed: number
  /** Flood-specific knobs (connections, rates...), from bench/hostile/floods.ts. */
  params: Record<string, number>
}

export interface FloodContext extends FloodConfig {
  /** Aborted when the duration is up: stop opening, close everything, resolve. */
  signal: AbortSignal
  /** Seeded PRNG in [0, 1). */
  rand: () => number
  /** A seeded info hash from `infoHashes`. */
  pickInfoHash: () => string
}

export interface FloodResult {
  /** What was sent and what came of it, for the report (e.g. connections, peerClosed). */
  counts: Record<string, number>
  /** The count the peer's CPU per unit is computed over, and its name ("conns", "datagrams"). */
  units: number
  unit: string
  /** One-line summary of what the flood did, for the table. */
  summary: string
}

/** What flood-child.ts adds: the generator's own CPU use, to tell when it is the bottleneck. */
export interface FloodReport extends FloodResult {
  cpuMs: number
  wallMs: number
}
