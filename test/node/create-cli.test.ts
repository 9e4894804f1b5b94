/**
 * `torrent-fish create`, run in-process through `main()`: the .torrent it writes (url-list by
 * BEP 19 rules, trackers, private flag, piece length), the magnet it prints, its progress
 * output, and the clear usage errors (exit 2) for bad paths, URLs and values.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import bencode from 'bencode'
import { decode as decodeMagnet } from 'magnet-uri'
import { main } from '../../src/cli/main.ts'
import { parseTorrent } from '../../src/core/torrent.ts'
import { pseudoRandomBytes } from '../fixtures/torrents.ts'
import { tmpDir } from '../fixtures/tmp.ts'

interface Run { code: number, out: string[], err: string[] }

async function run (argv: string[]): Promise<Run> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { io: { out: l => out.push(l), err: l => err.push(l) }, signals: false })
  return { code, out, err }
}

async function fixture (t: { after: (fn: () => unknown) => void }): Promise<{ dir: string, file: string, folder: string }> {
  const dir = await tmpDir(t, 'create')
  const file = path.join(dir, 'movie one.bin')
  await writeFile(file, pseudoRandomBytes(200_000, 'create-single'))
  const folder = path.join(dir, 'album')
  await mkdir(path.join(folder, 'disc 2'), { recursive: true })
  await writeFile(path.join(folder, 'a.bin'), pseudoRandomBytes(50_000, 'a'))
  await writeFile(path.join(folder, 'disc 2', 'b.bin'), pseudoRandomBytes(70_001, 'b'))
  await writeFile(path.join(folder, '.hidden'), 'left out')
  return { dir, file, folder }
}

test('create on a single file: url-list, no default trackers, magnet on stdout', async t => {
  const { dir, file } = await fixture(t)
  const out = path.join(dir, 'single.torrent')
  const url = 'http://seed.example/files/movie%20one.bin'
  const r = await run(['create', file, '--web-seed', url, '-o', out])
  assert.equal(r.code, 0, r.err.join('\n'))
  const bytes = new Uint8Array(await readFile(out))
  const parsed = await parseTorrent(bytes)
  assert.equal(parsed.name, 'movie one.bin')
  assert.equal(parsed.length, 200_000)
  assert.equal(parsed.fileCount, 1)
  assert.deepEqual(parsed.urlList, [url])
  assert.deepEqual(parsed.announce, [], 'no public trackers slipped in')
  assert.equal(parsed.private, false)
  const top = bencode.decode(bytes)
  assert.equal(typeof top.info.length, 'number', 'single-file mode')
  assert.equal(r.out.length, 1, 'stdout is the magnet alone')
  const m = decodeMagnet(r.out[0])
  assert.equal(m.infoHash, parsed.infoHash)
  assert.deepEqual(m.urlList, [url])
  assert.match(r.err.join('\n'), new RegExp(`wrote .*single\\.torrent.*info hash ${parsed.infoHash}`))
})

test('create on a directory: multi-file, name = directory, base URL gets its trailing slash', async t => {
  const { dir, folder } = await fixture(t)
  const out = path.join(dir, 'album.torrent')
  const r = await run(['create', folder, '--web-seed', 'https://cdn.example/pub', '-o', out])
  assert.equal(r.code, 0, r.err.join('\n'))
  const bytes = new Uint8Array(await readFile(out))
  const parsed = await parseTorrent(bytes)
  assert.equal(parsed.name, 'album')
  assert.deepEqual(parsed.urlList, ['https://cdn.example/pub/'])
  assert.match(r.err.join('\n'), /note: .*base of a multi-file torrent/)
  const files = bencode.decode(bytes).info.files.map((f: any) => f.path.map((p: Uint8Array) => Buffer.from(p).toString()).join('/')).sort()
  assert.deepEqual(files, ['a.bin', 'disc 2/b.bin'], 'hidden files are left out')
  assert.equal(parsed.length, 120_001)
})

test('trackers, private flag, piece length and xs= with --public-url', async t => {
  const { dir, file } = await fixture(t)
  const out = path.join(dir, 'opts.torrent')
  const r = await run([
    'create', file, '--web-seed', 'http://seed.example/', '--tracker', 'udp://tracker.example:6969', '--tracker', 'wss://ws.example',
    '--private', '--piece-length', '32K', '--public-url', 'https://tf.example/x/', '-o', out
  ])
  assert.equal(r.code, 0, r.err.join('\n'))
  assert.match(r.err.join('\n'), /WebTorrent fetches a single-file web seed URL as given/)
  const parsed = await parseTorrent(new Uint8Array(await readFile(out)))
  assert.deepEqual(parsed.announce, [['udp://tracker.example:6969'], ['wss://ws.example']])
  assert.equal(parsed.private, true)
  assert.equal(parsed.pieceLength, 32 * 1024)
  assert.equal(parsed.pieceCount, Math.ceil(200_000 / 32768))
  const m = decodeMagnet(r.out[0])
  assert.deepEqual(m.xs, `https://tf.example/x/${parsed.infoHash}.torrent`)
  assert.deepEqual(m.announce, ['udp://tracker.example:6969', 'wss://ws.example'])
})

test('default output name is <name>.torrent; it is not overwritten without --force', async t => {
  const { dir, file } = await fixture(t)
  const cwd = process.cwd()
  process.chdir(dir)
  t.after(() => process.chdir(cwd))
  const first = await run(['create', file, '--web-seed', 'http://seed.example/movie'])
  assert.equal(first.code, 0, first.err.join('\n'))
  const made = path.join(dir, 'movie one.bin.torrent')
  const bytes = await readFile(made)
  const again = await run(['create', file, '--web-seed', 'http://seed.example/movie'])
  assert.equal(again.code, 2)
  assert.match(again.err.join('\n'), /exists; use --force/)
  const forced = await run(['create', file, '--web-seed', 'http://seed.example/other', '--force'])
  assert.equal(forced.code, 0)
  assert.notDeepEqual(await readFile(made), bytes)
})

test('--progress prints hashing progress (lines when stderr is not a terminal)', async t => {
  const { dir, file } = await fixture(t)
  const r = await run(['create', file, '--web-seed', 'http://s.example/f', '-o', path.join(dir, 'p.torrent'), '--progress', '--piece-length', '16K'])
  assert.equal(r.code, 0)
  const lines = r.err.filter(l => l.startsWith('hashing: '))
  assert.ok(lines.length >= 2, lines.join('\n'))
  assert.match(lines.at(-1)!, /^hashing: 100%/)
  const quiet = await run(['create', file, '--web-seed', 'http://s.example/f', '-o', path.join(dir, 'q.torrent')])
  assert.equal(quiet.err.filter(l => l.startsWith('hashing')).length, 0, 'small inputs: no progress by default')
})

test('bad paths, URLs and values: exit 2 with a message naming the problem', async t => {
  const { dir, file, folder } = await fixture(t)
  const empty = path.join(dir, 'empty')
  await mkdir(empty)
  const emptyFile = path.join(dir, 'zero.bin')
  await writeFile(emptyFile, '')
  const o = ['-o', path.join(dir, 'x.torrent')]
  const cases: Array<[string[], RegExp]> = [
    [['create', path.join(dir, 'nope'), '--web-seed', 'http://a/', ...o], /nope: no such file or directory/],
    [['create', file, '--web-seed', 'ftp://a/f', ...o], /--web-seed: must be an http/],
    [['create', file, '--web-seed', 'not a url', ...o], /--web-seed: not a URL/],
    [['create', file, '--web-seed', 'http://a/f#frag', ...o], /fragment/],
    [['create', folder, '--web-seed', 'http://a/d/?sig=1', ...o], /without a query/],
    [['create', file, ...o], /required option '--web-seed <url>' not specified/],
    [['create', file, '--web-seed', 'http://a/f', '--tracker', 'gopher://t', ...o], /--tracker: must be/],
    [['create', file, '--web-seed', 'http://a/f', '--piece-length', '1000', ...o], /power of two/],
    [['create', file, '--web-seed', 'http://a/f', '--piece-length', 'big', ...o], /expected bytes/],
    [['create', file, '--web-seed', 'http://a/f', '--public-url', 'ftp://x', ...o], /expected an http\(s\) URL/],
    [['create', empty, '--web-seed', 'http://a/', ...o], /has no files/],
    [['create', emptyFile, '--web-seed', 'http://a/f', ...o], /the file is empty/]
  ]
  for (const [argv, message] of cases) {
    const r = await run(argv)
    assert.equal(r.code, 2, `${argv.join(' ')}: exit ${r.code}\n${r.err.join('\n')}`)
    assert.match(r.err.join('\n'), message, argv.join(' '))
    assert.deepEqual(r.out, [], 'no magnet on failure')
  }
  await assert.rejects(readFile(path.join(dir, 'x.torrent')), 'nothing was written')
})
