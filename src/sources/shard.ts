/**
 * `--shard K/N`: which of N instances serves a torrent, by rendezvous (highest-random-weight)
 * hashing over the info hash. Each shard's weight for a hash depends only on the shard number
 * and the hash, never on N, so going from N to N+1 shards moves a torrent only when the new
 * shard outweighs its old owner: about 1/(N+1) of the torrents, all of them to the new shard.
 * Every instance computes the same answer with no communication.
 */
import { InvalidOptionError } from '../core/errors.ts'

/** This instance's part: shard `index` (1-based) of `count`. */
export interface Shard {
  index: number
  count: number
}

/** Parses `K/N` (1 <= K <= N); the error names the flag. */
export function parseShard (value: string, option = 'shard'): Shard {
  const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,6})\s*$/.exec(value)
  const index = m ? Number(m[1]) : NaN
  const count = m ? Number(m[2]) : NaN
  if (!m || !(count >= 1) || !(index >= 1) || index > count) {
    throw new InvalidOptionError(option, `expected K/N with 1 <= K <= N, like 2/3, got "${value}"`)
  }
  return { index, count }
}

export function formatShard (shard: Shard): string {
  return `${shard.index}/${shard.count}`
}

/** murmur3's 32-bit finaliser: every input bit flips about half the output bits. */
function mix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * The weight of shard `k` for a hash given as its first 64 bits (two 32-bit words). Info
 * hashes are SHA-1 (or SHA-256) output, already uniform, so 64 of their bits mixed with the
 * shard number are plenty; a full hash per (shard, torrent) would cost more than the lookup.
 */
function weight (k: number, hi: number, lo: number): number {
  const seed = mix32(Math.imul(k, 0x9e3779b9) ^ 0x5bd1e995)
  // 53 usable bits of a double: 32 high bits plus 21 of the low word.
  return mix32(hi ^ seed) * 2097152 + (mix32(lo ^ mix32(seed + hi)) >>> 11)
}

/** The shard (1..count) that owns an info hash (40 or 64 hex characters). */
export function shardOf (infoHash: string, count: number): number {
  if (count <= 1) return 1
  const hi = Number.parseInt(infoHash.slice(0, 8), 16) >>> 0
  const lo = Number.parseInt(infoHash.slice(8, 16), 16) >>> 0
  let best = 1
  let bestWeight = -1
  for (let k = 1; k <= count; k++) {
    const w = weight(k, hi, lo)
    if (w > bestWeight) { bestWeight = w; best = k }
  }
  return best
}

/** Whether this instance's shard serves the torrent (always, without sharding). */
export function owns (shard: Shard | undefined, infoHash: string): boolean {
  return shard === undefined || shard.count <= 1 || shardOf(infoHash, shard.count) === shard.index
}
