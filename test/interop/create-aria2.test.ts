/**
 * Interop: a .torrent made by `torrent-fish create` loads into a real client (aria2, Debian's
 * build) and downloads from the web seed in its url-list (BEP 19), byte-identical, for a single
 * file and for a directory. aria2 gets no peers (DHT, LSD, PEX off, no trackers): every byte
 * comes from the web seed, which proves the url-list layout is right.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { main } from '../../src/cli/main.ts'
import { startWebSeed } from '../../src/node/web-seed-server.ts'
import { pseudoRandomBytes } from '../fixtures/torrents.ts'
import { tmpDir } from '../fixtures/tmp.ts'

async function create (argv: string[]): Promise<string> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(['create', ...argv], { io: { out: l => out.push(l), err: l => err.push(l) }, signals: false })
  assert.equal(code, 0, err.join('\n'))
  return out[0]
}

/** Runs aria2c on a .torrent; resolves when it exits 0 (the download completed). */
function aria2 (torrentFile: string, dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('aria2c', [
      `--dir=${dir}`, '--seed-time=0', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false',
      '--enable-peer-exchange=false', '--summary-interval=0', '--console-log-level=warn', '--no-conf=true',
      '--timeout=20', '--max-tries=3', torrentFile
    ], { timeout: 60_000 }, (err, stdout, stderr) => err ? reject(new Error(`aria2c failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout))
  })
}

test('aria2 downloads a single-file and a directory torrent made by create, from the web seed only', async t => {
  const root = await tmpDir(t, 'create-aria2')
  const content = path.join(root, 'www')
  const single = pseudoRandomBytes(700_001, 'aria2-single')
  const files: Record<string, Uint8Array> = {
    'one.bin': pseudoRandomBytes(150_000, 'aria2-a'),
    'nested dir/two.bin': pseudoRandomBytes(90_123, 'aria2-b'),
    'nested dir/deeper/three.bin': pseudoRandomBytes(1, 'aria2-c')
  }
  await mkdir(content, { recursive: true })
  await writeFile(path.join(content, 'single file.bin'), single)
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(content, 'pack', rel)), { recursive: true })
    await writeFile(path.join(content, 'pack', rel), data)
  }
  const seed = await startWebSeed(content, { host: '127.0.0.1', port: 0 })
  t.after(() => seed.close())

  // Single file: the file's own URL. Directory: the base URL (clients add <name>/<path>).
  await create([path.join(content, 'single file.bin'), '--web-seed', `${seed.url}single%20file.bin`, '-o', path.join(root, 'single.torrent'), '--piece-length', '64K'])
  await create([path.join(content, 'pack'), '--web-seed', seed.url, '-o', path.join(root, 'pack.torrent')])

  const down = path.join(root, 'down')
  const started = Date.now()
  await aria2(path.join(root, 'single.torrent'), down)
  const singleMs = Date.now() - started
  assert.ok(Buffer.from(single).equals(await readFile(path.join(down, 'single file.bin'))), 'single file differs')
  await aria2(path.join(root, 'pack.torrent'), down)
  for (const [rel, data] of Object.entries(files)) {
    assert.ok(Buffer.from(data).equals(await readFile(path.join(down, 'pack', rel))), `${rel} differs`)
  }
  assert.ok((seed.hits.get('/single file.bin') ?? 0) > 0)
  assert.ok((seed.hits.get('/pack/nested dir/deeper/three.bin') ?? 0) > 0)
  t.diagnostic(`aria2: single file in ${singleMs} ms, directory in ${Date.now() - started - singleMs} ms`)
})
