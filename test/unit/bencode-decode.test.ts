// src/core/bencode-decode.ts against the library it stands in for: for generated extended
// handshakes, arbitrary bencoded values and seeded mutations of both, decodeBencode returns
// exactly what the guarded bencode.decode returns, and undefined wherever it throws.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import bencode from 'bencode'
import { installBencodeGuard } from '../../src/core/bencode-guard.ts'
import { decodeBencode } from '../../src/core/bencode-decode.ts'
import { Rng, mutate } from '../fuzz/prng.ts'

installBencodeGuard()

/** What the library answers: its value, or undefined when it throws. */
function library (bytes: Uint8Array): unknown {
  try { return bencode.decode(bytes) } catch { return undefined }
}

const KEY_BYTES = [
  'm', 'v', 'p', 'reqq', 'yourip', 'metadata_size', 'ut_metadata', 'ut_pex', 'lt_donthave', 'upload_only', 'ipv6', 'complete_ago', ''
].map(k => new TextEncoder().encode(k))

function randomKey (rng: Rng): Uint8Array {
  if (rng.chance(0.6)) return rng.pick(KEY_BYTES)
  if (rng.chance(0.3)) return new TextEncoder().encode(rng.pick(['é', 'ключ', '鍵', '\u{1F41F}', '\uFFFD']))
  return rng.bytes(rng.int(8)) // often invalid UTF-8: the library keys those by their hex
}

function randomValue (rng: Rng, depth: number): unknown {
  const kind = depth > 3 ? rng.int(2) : rng.int(4)
  if (kind === 0) return rng.pick([0, 1, -1, 255, 256, 16384, 2 ** 31, -(2 ** 40), rng.int(1e9)])
  if (kind === 1) return rng.bytes(rng.int(24))
  if (kind === 2) return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1))
  const dict = new Map<Uint8Array, unknown>()
  for (let i = rng.int(6); i > 0; i--) dict.set(randomKey(rng), randomValue(rng, depth + 1))
  return encodeDict(dict)
}

/** A dictionary with byte-string keys, encoded by hand (keys as given, possibly unsorted or repeated). */
function encodeDict (dict: Map<Uint8Array, unknown>): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(0x64)]
  for (const [k, v] of dict) {
    parts.push(new TextEncoder().encode(`${k.length}:`), k, v instanceof Uint8Array && (v as { raw?: true }).raw ? v : encodeValue(v))
  }
  parts.push(Uint8Array.of(0x65))
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return Object.assign(out, { raw: true as const })
}

function encodeValue (v: unknown): Uint8Array {
  if (v instanceof Uint8Array && (v as { raw?: true }).raw) return v
  if (Array.isArray(v)) {
    const inner = v.map(encodeValue)
    const out = new Uint8Array(2 + inner.reduce((n, p) => n + p.length, 0))
    out[0] = 0x6c
    let at = 1
    for (const p of inner) { out.set(p, at); at += p.length }
    out[at] = 0x65
    return out
  }
  return bencode.encode(v as number | Uint8Array)
}

/** An extended handshake as clients send them: m with ids (some 0, some odd), v, p, reqq, yourip, metadata_size. */
function handshake (rng: Rng): Uint8Array {
  const m: Record<string, unknown> = {}
  for (const name of ['ut_metadata', 'ut_pex', 'lt_donthave', 'ut_holepunch']) {
    if (rng.chance(0.7)) m[name] = rng.pick([0, 1, 2, 3, 255, 256, -1, rng.int(300)])
  }
  const hs: Record<string, unknown> = { m }
  if (rng.chance(0.8)) hs.v = new TextEncoder().encode(rng.pick(['qBittorrent/4.6.2', 'Transmission 4.0.5', 'µTorrent 3.6', 'WebTorrent/2.0']))
  if (rng.chance(0.6)) hs.p = rng.int(65536)
  if (rng.chance(0.6)) hs.reqq = rng.pick([250, 500, 2000])
  if (rng.chance(0.5)) hs.yourip = rng.bytes(rng.pick([4, 16]))
  if (rng.chance(0.5)) hs.metadata_size = rng.int(1 << 20)
  return bencode.encode(hs)
}

function same (bytes: Uint8Array, note: string): void {
  const ours = decodeBencode(bytes)
  const theirs = library(bytes)
  assert.deepStrictEqual(ours, theirs, `${note}: ${Buffer.from(bytes).toString('hex')}`)
}

test('valid extended handshakes decode to the same values', () => {
  const rng = new Rng(1)
  for (let i = 0; i < 2_000; i++) same(handshake(rng), `handshake ${i}`)
})

test('arbitrary values, odd keys, unsorted and repeated keys decode to the same values', () => {
  const rng = new Rng(2)
  for (let i = 0; i < 2_000; i++) same(encodeValue(randomValue(rng, 0)), `value ${i}`)
})

test('mutated inputs: the same value, or both refuse', () => {
  const rng = new Rng(3)
  let refused = 0
  for (let i = 0; i < 20_000; i++) {
    const base = rng.chance(0.5) ? handshake(rng) : encodeValue(randomValue(rng, 0))
    let bytes = base
    for (let k = rng.range(1, 3); k > 0; k--) bytes = mutate(rng, bytes, handshake(rng))
    if (decodeBencode(bytes) === undefined) refused += 1
    same(bytes, `mutation ${i}`)
  }
  // The mutations must reach the error paths, not only the happy one.
  assert.ok(refused > 2_000, `only ${refused} of 20000 mutated inputs were refused`)
})

test('the edge cases of the library\'s number and string reading', () => {
  const cases = [
    '', 'i42e', 'i-0e', 'i+7e', 'ie', 'i4.5e', 'i4x5e', 'i--1e', 'i1', '3:abc', '3:ab', '5:abc', '3.9:abc', '3+:abc',
    '-3:abc', '+3:abc', 'x', 'd', 'de', 'le', 'l', 'd1:ae', 'd1:ai1ee', 'di1ei2ee', 'd3:key5:valuee', 'd1:a3:bce',
    'd1:ad1:bl1:ci9eeee', 'ld1:ae', 'i1etrailing', 'd1:m1:xe', 'd0:i1ee'
  ]
  for (const c of cases) same(new TextEncoder().encode(c), JSON.stringify(c))
  // Keys that are not valid UTF-8 are keyed by their hex; a key holding U+FFFD itself too.
  same(Uint8Array.of(0x64, 0x32, 0x3a, 0xff, 0xfe, 0x69, 0x31, 0x65, 0x65), 'invalid UTF-8 key')
  same(new TextEncoder().encode('d3:\uFFFDi1ee'), 'U+FFFD key')
})

test('nesting is bounded: a deep list is refused, never a stack overflow', () => {
  const deep = new TextEncoder().encode('l'.repeat(100_000) + 'e'.repeat(100_000))
  assert.equal(decodeBencode(deep), undefined)
  const fine = new TextEncoder().encode('l'.repeat(100) + 'e'.repeat(100))
  same(fine, 'depth 100')
})
