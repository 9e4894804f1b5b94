/**
 * `torrent-fish example --dir D` must never delete or overwrite a user's files: it used to
 * `rm -r D/torrents` and write over D/content/*. Now it works in a directory of its own
 * (D/torrent-fish-example, marked as its own) and removes nothing it did not create.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import { tmpDir } from '../fixtures/tmp.ts'
import { startChild } from './child.ts'

async function tree (dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter(e => e.isFile()).map(e => path.relative(dir, path.join(e.parentPath, e.name))).sort()
}

test('example --dir keeps every pre-existing user file, byte for byte', async t => {
  const dir = await tmpDir(t, 'example-dir')
  // A user's directory that happens to use the names the example once used.
  const mine: Record<string, string> = {
    'torrents/my-own.torrent': 'd4:infod4:name2:mee',
    'torrents/notes.txt': 'keep me',
    'content/hello-torrent-fish.txt': 'my hello, not yours',
    'content/album/notes.txt': 'my album notes',
    'torrent-fish-example.txt': 'a file next to it'
  }
  for (const [rel, body] of Object.entries(mine)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true })
    await writeFile(path.join(dir, rel), body)
  }
  for (let run = 0; run < 2; run++) {
    // Twice: the second run finds its own directory from the first and reuses it.
    const p = startChild(['example', '--dir', dir, '--json', '-p', '0'], t)
    const started = await p.waitFor('example')
    assert.equal(typeof started.dir, 'string')
    assert.ok(path.resolve(started.dir).startsWith(path.join(dir, 'torrent-fish-example')), `works in its own directory, not ${started.dir}`)
    // The magnets follow the `example` line: wait for the third.
    await p.waitFor('magnet', () => p.events.filter(e => e.event === 'magnet').length === 3)
    await p.stop()
    for (const [rel, body] of Object.entries(mine)) {
      assert.equal(await readFile(path.join(dir, rel), 'utf8'), body, `run ${run + 1}: ${rel} is untouched`)
    }
  }
  const files = await tree(dir)
  for (const rel of Object.keys(mine)) assert.ok(files.includes(rel), rel)
  assert.ok(files.some(f => f.startsWith('torrent-fish-example/torrents/') && f.endsWith('.torrent')), files.join('\n'))
})

test('example --dir refuses a torrent-fish-example directory it did not create', async t => {
  const dir = await tmpDir(t, 'example-foreign')
  const foreign = path.join(dir, 'torrent-fish-example', 'torrents', 'sample-3MiB.bin.torrent')
  await mkdir(path.dirname(foreign), { recursive: true })
  await writeFile(foreign, 'not ours to overwrite')
  const p = startChild(['example', '--dir', dir, '--json', '-p', '0'], t)
  const failed = await p.waitFor('start-failed')
  assert.match(failed.message, /torrent-fish-example.*not created by/)
  const { code } = await p.exited
  assert.equal(code, 1)
  assert.equal(await readFile(foreign, 'utf8'), 'not ours to overwrite')
})
