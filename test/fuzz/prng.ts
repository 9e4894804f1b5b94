/**
 * A seeded PRNG and byte mutators for the fuzz suite. Everything a fuzz case does is derived
 * from its seed, so a failure replays exactly from `(runSeed, caseIndex)`.
 */

/** sfc32 seeded through splitmix32: fast, 128 bits of state, good enough for fuzzing. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (seed: number) {
    let s = seed >>> 0
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next(); this.b = next(); this.c = next(); this.d = next()
    for (let i = 0; i < 12; i++) this.u32()
  }

  u32 (): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0
    this.c = (this.c + t) >>> 0
    return t
  }

  /** An integer in [0, n). */
  int (n: number): number { return n <= 1 ? 0 : Math.floor((this.u32() / 4294967296) * n) }
  /** An integer in [lo, hi]. */
  range (lo: number, hi: number): number { return lo + this.int(hi - lo + 1) }
  chance (p: number): boolean { return this.u32() / 4294967296 < p }
  pick<T> (items: readonly T[]): T { return items[this.int(items.length)] }
  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff
    return out
  }
}

/** The seed of case `index` of a run: independent streams per case. */
export function caseSeed (runSeed: number, index: number): number {
  let h = (runSeed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0
  return (h ^ (h >>> 15)) >>> 0
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x30, 0x39, 0x3a, 0x64, 0x65, 0x69, 0x6c, 0x2d]

export type MutationKind = 'bitflip' | 'byte' | 'insert' | 'delete' | 'truncate' | 'splice' | 'duplicate' | 'length'
const KINDS: MutationKind[] = ['bitflip', 'byte', 'insert', 'delete', 'truncate', 'splice', 'duplicate', 'length']

/**
 * Applies one mutation. `donor` supplies bytes for splicing (another valid input), so spliced
 * inputs mix real structure rather than noise.
 */
export function mutate (rng: Rng, input: Uint8Array, donor: Uint8Array, kind: MutationKind = rng.pick(KINDS)): Uint8Array {
  const n = input.length
  if (n === 0) return rng.bytes(rng.range(1, 16))
  const at = rng.int(n)
  switch (kind) {
    case 'bitflip': {
      const out = input.slice()
      out[at] ^= 1 << rng.int(8)
      return out
    }
    case 'byte': {
      const out = input.slice()
      out[at] = rng.chance(0.5) ? rng.pick(INTERESTING) : rng.u32() & 0xff
      return out
    }
    case 'insert': {
      const add = rng.chance(0.5) ? rng.bytes(rng.range(1, 8)) : rng.bytes(rng.range(1, 300))
      return concat(input.subarray(0, at), add, input.subarray(at))
    }
    case 'delete': {
      const len = rng.range(1, Math.min(n - at, rng.chance(0.7) ? 4 : 200))
      return concat(input.subarray(0, at), input.subarray(at + len))
    }
    case 'truncate':
      return input.subarray(0, at)
    case 'splice': {
      if (donor.length === 0) return input
      const from = rng.int(donor.length)
      const len = rng.range(1, Math.min(donor.length - from, 400))
      const cut = rng.chance(0.5) ? at : n
      return concat(input.subarray(0, cut), donor.subarray(from, from + len), input.subarray(rng.chance(0.5) ? cut : Math.min(n, cut + len)))
    }
    case 'duplicate': {
      const len = rng.range(1, Math.min(n - at, 200))
      return concat(input.subarray(0, at + len), input.subarray(at, at + len), input.subarray(at + len))
    }
    case 'length': {
      // Overwrite 4 bytes with a boundary-ish big-endian integer: hits length prefixes.
      const out = input.slice()
      const v = rng.pick([0, 1, 2, 0x7f, 0xff, 0x4000, 0x40000, 0x40001, 0x7fffffff, 0xffffffff, rng.u32()])
      for (let k = 0; k < 4 && at + k < n; k++) out[at + k] = (v >>> (24 - 8 * k)) & 0xff
      return out
    }
  }
}

export function concat (...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

/** Splits bytes into write chunks: mostly whole, sometimes dripped in small pieces. */
export function chunk (rng: Rng, input: Uint8Array): Uint8Array[] {
  if (input.length === 0 || rng.chance(0.6)) return [input]
  const out: Uint8Array[] = []
  const max = rng.pick([1, 3, 17, 64, 512])
  for (let i = 0; i < input.length;) {
    const len = rng.range(1, max)
    out.push(input.subarray(i, i + len))
    i += len
  }
  return out
}
