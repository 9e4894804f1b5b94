// --cache-size: parsed with a unit, rejected with the flag's name when malformed, and it
// reaches the store's info-dict cache; without it the store gets the default budget.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { main } from '../../src/cli/main.ts'
import { byteSize } from '../../src/cli/parse.ts'
import { DEFAULT_INFO_CACHE_BYTES } from '../../src/core/constants.ts'
import type { TorrentFish } from '../../src/node/torrent-fish.ts'
import { tmpDir, type HasAfter } from '../fixtures/tmp.ts'

function io (): { io: { out: (l: string) => void, err: (l: string) => void }, err: string[] } {
  const err: string[] = []
  return { io: { out: () => {}, err: l => err.push(l) }, err }
}

test('sizes: plain MiB, K/M/G units, zero', () => {
  assert.equal(byteSize('32'), 32 * 2 ** 20)
  assert.equal(byteSize('512K'), 512 * 1024)
  assert.equal(byteSize('1.5g'), 1.5 * 2 ** 30)
  assert.equal(byteSize('64MiB'), 64 * 2 ** 20)
  assert.equal(byteSize('0'), 0)
})

test('a malformed --cache-size exits 2 naming the flag', async () => {
  const c = io()
  assert.equal(await main(['--cache-size', 'lots', '-p', '0'], { io: c.io, signals: false }), 2)
  assert.match(c.err.join('\n'), /--cache-size.*32M/)
})

async function budgetWith (t: HasAfter, args: string[], env: Record<string, string> = {}): Promise<number> {
  const dir = await tmpDir(t)
  let budget = -1
  const code = await main(['-l', dir, '-p', '0', '-i', '127.0.0.1', '--no-dht', '--no-lsd', '--no-utp', ...args], {
    io: io().io,
    signals: false,
    env,
    // close() once main() listens for it: it waits for `close` after onServe returns
    onServe: (fish: TorrentFish) => { budget = fish.store.cacheBudget; queueMicrotask(() => { void fish.close() }) }
  })
  assert.equal(code, 0)
  return budget
}

test('--cache-size reaches the store; the default is the documented one', async (t) => {
  assert.equal(await budgetWith(t, ['--cache-size', '8M']), 8 * 2 ** 20)
  assert.equal(await budgetWith(t, []), DEFAULT_INFO_CACHE_BYTES)
  assert.equal(await budgetWith(t, [], { TORRENT_FISH_CACHE_SIZE: '4M' }), 4 * 2 ** 20, 'from the environment')
  assert.equal(await budgetWith(t, ['--cache-size', '2M'], { TORRENT_FISH_CACHE_SIZE: '4M' }), 2 * 2 ** 20, 'the flag wins')
})
