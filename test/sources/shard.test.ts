/**
 * Rendezvous sharding: every hash has exactly one owner, shards get even shares, and going
 * from N to N+1 shards moves about 1/(N+1) of the hashes, all of them to the new shard.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { shardOf, owns, parseShard } from '../../src/sources/shard.ts'

const HASHES = Array.from({ length: 100_000 }, (_, i) => createHash('sha1').update(`torrent ${i}`).digest('hex'))

test('shards split 100k info hashes evenly, each hash to exactly one shard', () => {
  for (const n of [2, 3, 4, 7]) {
    const counts = new Array(n + 1).fill(0)
    for (const h of HASHES) {
      const k = shardOf(h, n)
      counts[k] += 1
      let owners = 0
      for (let i = 1; i <= n; i++) if (owns({ index: i, count: n }, h)) owners += 1
      if (owners !== 1) assert.fail(`${h} has ${owners} owners among ${n} shards`)
    }
    const expected = HASHES.length / n
    for (let k = 1; k <= n; k++) {
      // 100k samples: a fair split is within ~1.5 % (several standard deviations).
      assert.ok(Math.abs(counts[k] - expected) / expected < 0.03, `shard ${k}/${n} holds ${counts[k]}, expected about ${expected}`)
    }
  }
})

test('N -> N+1 moves about 1/(N+1) of the torrents, only to the new shard', () => {
  for (const n of [1, 2, 3, 4, 9]) {
    let moved = 0
    for (const h of HASHES) {
      const before = shardOf(h, n)
      const after = shardOf(h, n + 1)
      if (before !== after) {
        moved += 1
        assert.equal(after, n + 1, `${h} moved from ${before} to ${after}, not to the new shard`)
      }
    }
    const fraction = moved / HASHES.length
    assert.ok(Math.abs(fraction - 1 / (n + 1)) < 0.01, `${n} -> ${n + 1} moved ${(fraction * 100).toFixed(2)} %, expected ${(100 / (n + 1)).toFixed(2)} %`)
  }
})

test('the same answer for upper- and lower-case, and K/N parsing names the flag', () => {
  assert.equal(shardOf(HASHES[0].toUpperCase(), 5), shardOf(HASHES[0], 5))
  assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 })
  assert.throws(() => parseShard('0/3'), /shard: expected K\/N/)
  assert.throws(() => parseShard('4/3'), /shard/)
  assert.throws(() => parseShard('x'), /shard/)
})
