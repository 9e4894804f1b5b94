// src/core/recent-set.ts: a bounded set that forgets the least recently used key (second chance).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RecentSet } from '../../src/core/recent-set.ts'

test('holds at most max keys; a key never used again goes after max newer ones', () => {
  const set = new RecentSet<string>(4)
  set.add('old')
  for (let i = 0; i < 3; i++) set.add(`k${i}`)
  assert.equal(set.size, 4)
  assert.ok(set.has('old'))
  set.add('k3')
  assert.equal(set.size, 4)
  assert.equal(set.has('old'), false, 'the oldest unused key made room')
  for (const k of ['k0', 'k1', 'k2', 'k3']) assert.ok(set.has(k))
})

test('a key used again between newcomers is never forgotten, however many come', () => {
  const set = new RecentSet<string>(4)
  set.add('leecher')
  for (let i = 0; i < 1_000; i++) {
    set.add(`flood${i}`)
    if (i % 3 === 0) set.add('leecher') // served again every few newcomers (fewer than max)
    assert.ok(set.has('leecher'), `forgotten after ${i} newcomers`)
    assert.ok(set.size <= 4)
  }
})

test('adding a key already there changes nothing but its mark', () => {
  const set = new RecentSet<number>(2)
  set.add(1)
  set.add(1)
  set.add(1)
  assert.equal(set.size, 1)
  set.add(2)
  set.add(3) // 1 was used since it came in: 2 goes instead
  assert.ok(set.has(1))
  assert.equal(set.has(2), false)
  assert.ok(set.has(3))
  set.add(4) // 1 went to the end unmarked, before 3 came: unused since, it is the oldest now
  assert.ok(set.has(3) && set.has(4) && !set.has(1))
  assert.throws(() => new RecentSet(0), RangeError)
})
