/**
 * A directory inside the load path that the service cannot read (an ext4 root's lost+found, a
 * permission mistake) is one warning naming it; every readable torrent is served. Root reads
 * every directory whatever its mode, so the CLI runs as `nobody` here (tests run as root).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdir } from 'node:fs/promises'
import path from 'node:path'
import { tmpDir } from '../fixtures/tmp.ts'
import { singleFileTorrent, writeTorrentFiles } from '../fixtures/torrents.ts'
import { spawnCli } from '../fixtures/cli.ts'

const NOBODY = 65534

test('an unreadable subdirectory of -l is one warning naming it; the rest is served (CLI as nobody)', async t => {
  assert.equal(process.getuid?.(), 0, 'this test drops to nobody, so it needs to start as root (test/run.sh runs as root)')
  const dir = await tmpDir(t, 'unreadable')
  await chmod(dir, 0o755)
  const torrents = [await singleFileTorrent({ name: 'readable' }), await singleFileTorrent({ name: 'also-readable' })]
  const files = await writeTorrentFiles(dir, torrents)
  for (const f of files) await chmod(f, 0o644)
  const closed = path.join(dir, 'lost+found')
  await mkdir(closed)
  await chmod(closed, 0o000)

  const fish = await spawnCli(['-l', dir], t, { uid: NOBODY, gid: NOBODY, env: { ...process.env, HOME: dir } })
  const warning = await fish.waitFor('warning', e => e.code === 'WARN_UNREADABLE_DIRECTORY')
  assert.match(warning.message, new RegExp(`${closed.replace(/[+]/g, '\\+')}: skipped, cannot read`))
  const ready = await fish.waitFor('ready')
  assert.equal(ready.torrents, torrents.length)
  assert.equal(await fish.stop(), 0)
})
