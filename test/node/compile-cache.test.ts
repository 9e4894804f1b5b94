/**
 * bin/compile-cache.js: the CLI keeps V8's compiled code in a cache directory of its own
 * (NODE_COMPILE_CACHE, else $XDG_CACHE_HOME/torrent-fish), so later starts skip compiling the
 * import graph. A cache that cannot be created must never stop the service, and
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { spawnCli } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { singleFileTorrent, writeTorrentFiles } from '../fixtures/torrents.ts'
import { fetchMetadata } from '../../bench/bep9-client.ts'

/** Environment without the compile-cache variables a developer's shell may have set. */
function envWith (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra }
  if (!('NODE_COMPILE_CACHE' in extra)) delete env.NODE_COMPILE_CACHE
  if (!('NODE_DISABLE_COMPILE_CACHE' in extra)) delete env.NODE_DISABLE_COMPILE_CACHE
  return env
}

/** Files in every versioned directory under the cache root (empty if there is none). */
async function cacheEntries (root: string): Promise<string[]> {
  let versions: string[]
  try { versions = await readdir(root) } catch { return [] }
  const out: string[] = []
  for (const v of versions) for (const f of await readdir(path.join(root, v))) out.push(path.join(v, f))
  return out
}

async function serveOnce (t: test.TestContext, env: NodeJS.ProcessEnv): Promise<void> {
  const dir = await tmpDir(t, 'cc-load')
  const torrent = await singleFileTorrent({ name: 'compile-cache' })
  await writeTorrentFiles(dir, [torrent])
  const fish = await spawnCli(['-l', dir, '--no-announce', '--state-dir', await tmpDir(t, 'cc-state')], t, { env })
  // A real BEP 9 exchange, its SHA-1 checked: the service is up and serving, cache or not.
  const size = await fetchMetadata({ host: '127.0.0.1', port: fish.port, infoHash: torrent.infoHash, timeoutMs: 10_000 })
  assert.equal(size, torrent.infoBytes.length)
  assert.equal(await fish.stop(), 0)
}

test('the compiled code lands in $XDG_CACHE_HOME/torrent-fish, and a second start serves from it', async t => {
  const home = await tmpDir(t, 'cc-home')
  await serveOnce(t, envWith({ XDG_CACHE_HOME: home }))
  const first = await cacheEntries(path.join(home, 'torrent-fish'))
  assert.ok(first.length >= 50, `expected the CLI's modules in the cache, found ${first.length} entries`)
  await serveOnce(t, envWith({ XDG_CACHE_HOME: home }))
  // Every module was found in the cache: the second start wrote no entry of its own.
  assert.deepEqual((await cacheEntries(path.join(home, 'torrent-fish'))).sort(), first.sort())
})

test('NODE_COMPILE_CACHE wins over the default place; NODE_DISABLE_COMPILE_CACHE=1 writes nothing', async t => {
  const home = await tmpDir(t, 'cc-home2')
  const chosen = await tmpDir(t, 'cc-chosen')
  await serveOnce(t, envWith({ XDG_CACHE_HOME: home, NODE_COMPILE_CACHE: chosen }))
  assert.ok((await cacheEntries(chosen)).length >= 50)
  assert.deepEqual(await cacheEntries(path.join(home, 'torrent-fish')), [])
  await serveOnce(t, envWith({ XDG_CACHE_HOME: home, NODE_DISABLE_COMPILE_CACHE: '1' }))
  assert.deepEqual(await cacheEntries(path.join(home, 'torrent-fish')), [])
})

test('a cache directory that cannot be created leaves the cache off and the service serving', async t => {
  // A regular file where the cache's parent should be: mkdir fails even for root.
  const blocker = path.join(await tmpDir(t, 'cc-blocked'), 'not-a-dir')
  await writeFile(blocker, 'x')
  await serveOnce(t, envWith({ XDG_CACHE_HOME: blocker }))
})
