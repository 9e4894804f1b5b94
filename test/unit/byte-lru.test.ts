import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ByteLru } from '../../src/core/byte-lru.ts'

const bytes = (n: number): Uint8Array => new Uint8Array(n)

test('ByteLru evicts the least recently used entries once over its byte budget', () => {
  const lru = new ByteLru(40)
  for (const k of ['a', 'b', 'c', 'd']) lru.set(k, bytes(10))
  assert.equal(lru.bytes, 40)
  lru.set('e', bytes(10))
  assert.equal(lru.get('a'), undefined, 'the oldest entry went first')
  assert.equal(lru.size, 4)
  assert.equal(lru.bytes, 40)
})

test('ByteLru: a hit on an entry of the older half keeps it from being evicted next', () => {
  const lru = new ByteLru(40)
  for (const k of ['a', 'b', 'c', 'd']) lru.set(k, bytes(10))
  assert.ok(lru.get('a'))
  lru.set('e', bytes(10))
  assert.ok(lru.get('a'), 'a was used, so b (the least recently used) went')
  assert.equal(lru.get('b'), undefined)
})

test('ByteLru: an entry hit many times in a row stays and keeps its bytes', () => {
  const lru = new ByteLru(100)
  const v = bytes(10)
  lru.set('a', v)
  for (let i = 0; i < 1000; i++) assert.equal(lru.get('a'), v)
  assert.equal(lru.size, 1)
  assert.equal(lru.bytes, 10)
})

test('ByteLru: set replaces, delete and clear release bytes, an entry over the budget is not kept', () => {
  const lru = new ByteLru(30)
  lru.set('a', bytes(10))
  lru.set('a', bytes(20))
  assert.equal(lru.bytes, 20)
  lru.delete('a')
  assert.equal(lru.bytes, 0)
  lru.set('big', bytes(31))
  assert.equal(lru.get('big'), undefined)
  lru.set('b', bytes(5))
  lru.clear()
  assert.equal(lru.size, 0)
  assert.equal(lru.bytes, 0)
})
