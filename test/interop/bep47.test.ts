/**
 * BEP 47 attributes: a torrent with a symlink entry (`attr` "l", `symlink path`, no `length`),
 * padding files (`attr` "p"), an executable and a hidden file. libtorrent loads it (checked
 * first, with python3-libtorrent on the file itself); torrent-fish must load it too (it used
 * to refuse it: "a file in files has no valid length") and serve its metadata byte-identical
 * to libtorrent fetching it from a magnet.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import bencode from 'bencode'
import { parseTorrent } from '../../src/index.ts'
import { spawnCli } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'

const run = promisify(execFile)
const here = path.dirname(fileURLToPath(import.meta.url))
const PYTHON = process.env.TF_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')
const PIECE = 16384

/** A multi-file torrent with every BEP 47 attribute; 2,600 pieces so the info dict spans 4 metadata pieces. */
function bep47Torrent (): { torrentBytes: Uint8Array, total: number } {
  const big = 2600 * PIECE - 1000 - (PIECE - 1000) - 2 * PIECE
  const files = [
    { length: 1000, path: [Buffer.from('a.bin')] },
    // Pads a.bin to the piece boundary, as BEP 47 writers do.
    { attr: Buffer.from('p'), length: PIECE - 1000, path: [Buffer.from('.pad'), Buffer.from(String(PIECE - 1000))] },
    { attr: Buffer.from('l'), 'symlink path': [Buffer.from('a.bin')], path: [Buffer.from('link-to-a')] },
    { attr: Buffer.from('x'), length: PIECE, path: [Buffer.from('run.sh')] },
    { attr: Buffer.from('h'), length: PIECE, path: [Buffer.from('.hidden')] },
    { length: big, path: [Buffer.from('big.bin')] }
  ]
  const total = files.reduce((n, f) => n + ((f as { length?: number }).length ?? 0), 0)
  const pieces = new Uint8Array(20 * Math.ceil(total / PIECE)).map((_, i) => (i * 7) & 0xff)
  const info = { name: Buffer.from('bep47-attrs'), 'piece length': PIECE, pieces, files }
  return { torrentBytes: bencode.encode({ info, 'url-list': [Buffer.from('http://127.0.0.1:9/')] }), total }
}

test('BEP 47: symlink and padding entries load and are served byte-identical to libtorrent', { timeout: 90_000 }, async t => {
  const dir = await tmpDir(t, 'bep47')
  const load = path.join(dir, 'load')
  await mkdir(load)
  const { torrentBytes, total } = bep47Torrent()
  const file = path.join(load, 'bep47.torrent')
  await writeFile(file, torrentBytes)

  // 1. libtorrent accepts it, and reads the attributes we meant.
  const { stdout } = await run(PYTHON, [path.join(here, 'lt_load_torrent.py'), file])
  const lt = JSON.parse(stdout.trim()) as { ok: boolean, info_hash: string, total_size: number, files: Array<{ path: string, size: number, flags: number, symlink: string | null }> }
  assert.equal(lt.ok, true)
  const link = lt.files.find(f => f.path.endsWith('link-to-a'))!
  assert.ok(link.flags & 8, 'libtorrent sees a symlink')
  assert.equal(link.size, 0)
  assert.ok(lt.files.find(f => f.path.includes('.pad'))!.flags & 1, 'libtorrent sees a pad file')

  // 2. torrent-fish parses it with the same totals.
  const parsed = await parseTorrent(torrentBytes, file)
  assert.equal(parsed.infoHash, lt.info_hash)
  assert.equal(parsed.length, lt.total_size)
  assert.equal(parsed.length, total)
  assert.equal(parsed.fileCount, lt.files.length)
  assert.ok(parsed.infoSize > 3 * PIECE, 'info dict spans several metadata pieces')

  // 3. The CLI loads and serves it; libtorrent fetches the metadata from a magnet.
  const fish = await spawnCli(['-l', load], t)
  assert.equal(fish.events.find(e => e.event === 'loaded')?.loaded, 1, 'the BEP 47 torrent is loaded')
  const out = path.join(dir, 'info.bin')
  const fetched = await run(PYTHON, [path.join(here, 'lt_fetch_metadata.py'), '--magnet', `magnet:?xt=urn:btih:${parsed.infoHash}&dn=bep47-attrs`,
    '--peer', `127.0.0.1:${fish.port}`, '--out', out, '--timeout', '30'], { timeout: 45_000 })
  const result = JSON.parse(fetched.stdout.trim().split('\n').at(-1)!) as { ok: boolean, info_size: number }
  assert.equal(result.ok, true, fetched.stdout)
  assert.ok((await readFile(out)).equals(Buffer.from(parsed.infoBytes)), 'libtorrent holds byte-identical info dict bytes')
  assert.equal(await fish.stop(), 0)
})
