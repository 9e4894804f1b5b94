// The CLI as users run it: flags (bad ones exit 2 naming the flag), a load path mixing good,
// corrupt and non-torrent files, changes while running, the magnet subcommand, SIGTERM.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile, rm, copyFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import { main } from '../../src/cli/main.ts'
import { fetchMetadataTcp, spawnCli } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent, makeLargeTorrent } from '../fixtures/memory-torrents.ts'
import { parseTorrent } from '../../src/index.ts'

function capture (): { io: { out: (l: string) => void, err: (l: string) => void }, out: string[], err: string[] } {
  const out: string[] = []
  const err: string[] = []
  return { io: { out: l => out.push(l), err: l => err.push(l) }, out, err }
}

const badFlags: Array<[string[], RegExp]> = [
  [['-p', 'abc'], /--port/],
  [['-p', '70000'], /--port.*between 0 and 65535/],
  [['-c', '0'], /--connections_limit/],
  [['-u', '-5'], /--max-upload-rate/],
  [['-d', 'fast'], /--max-download-rate/],
  [['-r', 'nohostport'], /--proxy-host.*host:port/],
  [['--bogus'], /unknown option '--bogus'/],
  [['-l'], /--load-path.*argument missing/]
]
for (const [argv, message] of badFlags) {
  test(`bad flags exit 2 naming the flag: ${argv.join(' ')}`, async () => {
    const c = capture()
    const code = await main(argv, { io: c.io, signals: false })
    assert.equal(code, 2)
    assert.match(c.err.join('\n'), message)
  })
}

test('--help and --version exit 0', async () => {
  const c = capture()
  assert.equal(await main(['--help'], { io: c.io, signals: false }), 0)
  assert.match(c.out.join('\n'), /--connections_limit/)
  assert.equal(await main(['--version'], { io: c.io, signals: false }), 0)
  assert.match(c.out.join('\n'), /^\d+\.\d+\.\d+/m)
})

test('a missing load path is a runtime error (exit 1) naming the directory', async () => {
  const c = capture()
  const code = await main(['-l', '/nonexistent/torrents', '-p', '0', '-i', '127.0.0.1', '--json'], { io: c.io, signals: false })
  assert.equal(code, 1)
  assert.match(c.err.join('\n'), /\/nonexistent\/torrents/)
})

test('magnet subcommand prints a magnet per file and warns about a missing web seed', async (t) => {
  const dir = await tmpDir(t)
  const withSeed = makeTorrent({ urlList: ['http://seed.example/f.bin'] })
  const noSeed = makeTorrent()
  await writeFile(path.join(dir, 'a.torrent'), withSeed.torrentBytes)
  await writeFile(path.join(dir, 'b.torrent'), noSeed.torrentBytes)
  await writeFile(path.join(dir, 'c.torrent'), 'garbage')
  const c = capture()
  const code = await main(['magnet', path.join(dir, 'a.torrent'), path.join(dir, 'b.torrent'), path.join(dir, 'c.torrent'), '--peer', '127.0.0.1:6881'], { io: c.io, signals: false })
  assert.equal(code, 1, 'one file failed')
  const a = await parseTorrent(withSeed.torrentBytes)
  assert.equal(c.out.length, 2)
  assert.match(c.out[0], new RegExp(`^magnet:\\?xt=urn:btih:${a.infoHash}&.*ws=http%3A%2F%2Fseed\\.example%2Ff\\.bin.*&x\\.pe=127\\.0\\.0\\.1:6881`))
  assert.match(c.err.join('\n'), /has no web seed/)
  assert.match(c.err.join('\n'), /c\.torrent: not a valid \.torrent/)
})

const fetchOnce = async (port: number, infoHash: string): Promise<number> => (await fetchMetadataTcp(port, infoHash)).length

test('serves a mixed directory, names every bad file once, follows changes, stops on SIGTERM', async (t) => {
  const dir = await tmpDir(t)
  const good = makeLargeTorrent()
  const dup = good.torrentBytes
  await mkdir(path.join(dir, 'sub'))
  await writeFile(path.join(dir, 'good.torrent'), good.torrentBytes)
  await writeFile(path.join(dir, 'sub', 'also-good.torrent'), makeTorrent().torrentBytes)
  await writeFile(path.join(dir, 'corrupt.torrent'), good.torrentBytes.subarray(0, 100))
  await writeFile(path.join(dir, 'notes.txt'), 'not a torrent')
  await writeFile(path.join(dir, 'zz-duplicate.torrent'), dup)
  const fish = await spawnCli(['-l', dir, '-v'], t)
  const loaded = fish.events.find(e => e.event === 'loaded')!
  assert.equal(loaded.loaded, 2)
  assert.equal(loaded.failed, 2)
  assert.equal(loaded.ignored, 1)
  const warnings = fish.events.filter(e => e.level === 'warn').map(e => e.message)
  assert.equal(warnings.filter(w => w.includes('corrupt.torrent')).length, 1, 'corrupt file named once')
  assert.equal(warnings.filter(w => w.includes('notes.txt')).length, 1, 'non-torrent file named once')
  assert.equal(warnings.filter(w => w.includes('zz-duplicate.torrent') && w.includes('already loaded from')).length, 1, 'duplicate named with the original')

  const goodHash = (await parseTorrent(good.torrentBytes)).infoHash
  assert.ok(await fetchOnce(fish.port, goodHash) > 16384, 'metadata served over TCP')

  // Added while running.
  const later = makeTorrent()
  const laterHash = (await parseTorrent(later.torrentBytes)).infoHash
  const added = fish.waitFor('torrent-added', e => e.infoHash === laterHash)
  await writeFile(path.join(dir, 'tmp-copy'), later.torrentBytes)
  await copyFile(path.join(dir, 'tmp-copy'), path.join(dir, 'later.torrent'))
  await added
  assert.ok(await fetchOnce(fish.port, laterHash) > 0, 'a torrent added while running is served')

  // Removed while running.
  const removed = fish.waitFor('torrent-removed', e => e.infoHash === goodHash)
  await rm(path.join(dir, 'good.torrent'))
  await removed
  const closed = fish.waitFor('peer-close', e => e.reason === 'unknown-infohash')
  await assert.rejects(fetchOnce(fish.port, goodHash), /closed before metadata/)
  await closed

  assert.equal(await fish.stop(), 0, 'SIGTERM: clean exit')
  assert.ok(fish.events.some(e => e.event === 'shutdown'))
})
