// What a library user gets without asking (README, "Library"): no DHT, no LSD, no state file,
// `discovery: false` turns discovery off entirely; and load-time warnings reach a
// fish.on('warning') attached after `await createTorrentFish()`, as the README shows.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { createTorrentFish, type Warning } from '../../src/node.ts'
import { MAX_HELD_WARNINGS } from '../../src/node/startup-warnings.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'

test('library defaults: no DHT node, no LSD, nothing written under HOME or XDG_STATE_HOME', async t => {
  const home = await tmpDir(t, 'home')
  const saved = { HOME: process.env.HOME, XDG_STATE_HOME: process.env.XDG_STATE_HOME }
  process.env.HOME = home
  process.env.XDG_STATE_HOME = path.join(home, 'state')
  t.after(() => { for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v } })
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', utp: false })
  await fish.addTorrent(makeTorrent().torrentBytes)
  assert.ok(fish.discovery, 'discovery runs (trackers named in the torrents)')
  const status = fish.discovery.status()
  assert.equal(status.dht, null, 'no DHT node unless discovery.dht is true')
  assert.equal(status.lsd, null, 'no LSD unless discovery.lsd is true')
  assert.ok(!fish.listening().some(l => l.name === 'dht'))
  await fish.close()
  assert.deepEqual(await readdir(home), [], 'no state file, no state directory')
})

test('discovery: false turns every discovery part off (no trackers, DHT, LSD, outgoing connections)', async t => {
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', utp: false, discovery: false })
  t.after(() => fish.close())
  await fish.addTorrent(makeTorrent({ announce: ['http://127.0.0.1:9/announce'] }).torrentBytes)
  assert.equal(fish.discovery, null)
  assert.deepEqual(fish.listening().map(l => l.name), ['tcp'])
})

test("load-time warnings reach fish.on('warning') attached after await createTorrentFish(), once each", async t => {
  const dir = await tmpDir(t, 'warnings')
  await writeFile(path.join(dir, 'corrupt.torrent'), 'd8:announce')
  await writeFile(path.join(dir, 'notes.txt'), 'not a torrent')
  const good = makeTorrent()
  await writeFile(path.join(dir, 'good.torrent'), good.torrentBytes)
  await writeFile(path.join(dir, 'copy.torrent'), good.torrentBytes)

  const early: Warning[] = []
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', loadPath: dir, discovery: false, utp: false }, f => f.on('warning', w => early.push(w)))
  t.after(() => fish.close())
  assert.ok(early.length >= 3, `the setup listener saw them live: ${JSON.stringify(early)}`)

  // The README's way: attach after the await.
  const late: Warning[] = []
  const gotAll = new Promise<void>(resolve => fish.on('warning', w => { late.push(w); if (late.length === early.length) resolve() }))
  await gotAll
  assert.deepEqual(late, early, 'the same warnings, in the same order')
  for (const file of ['corrupt.torrent', 'notes.txt']) {
    assert.ok(late.some(w => w.message.includes(file)), `a warning names ${file}: ${JSON.stringify(late)}`)
  }
  assert.ok(late.some(w => /copy\.torrent|good\.torrent/.test(w.message) && /duplicate/i.test(w.message + w.code)), `the duplicate is named: ${JSON.stringify(late)}`)

  // once() gets one warning and is detached; a second listener gets its own replay.
  const onceSeen: Warning[] = []
  await new Promise<void>(resolve => fish.once('warning', w => { onceSeen.push(w); resolve() }))
  const second: Warning[] = []
  await new Promise<void>(resolve => fish.on('warning', w => { second.push(w); if (second.length === early.length) resolve() }))
  assert.deepEqual(onceSeen, [early[0]])
  assert.deepEqual(second, early)

  // A warning after the start is live only: each current listener gets it once, nothing replays it.
  const counts = { late: late.length, second: second.length }
  const runtime = new Promise<Warning>(resolve => {
    const listener = (w: Warning): void => { if (w.code === 'WARN_TEST') { fish.off('warning', listener); resolve(w) } }
    fish.on('warning', listener)
  })
  fish.warn('WARN_TEST', 'a warning while running')
  assert.equal((await runtime).code, 'WARN_TEST')
  assert.equal(late.length, counts.late + 1)
  assert.equal(second.length, counts.second + 1)
})

test('load-time warnings kept are bounded; one summary says how many more', async t => {
  const dir = await tmpDir(t, 'many-warnings')
  const extra = 5
  await Promise.all(Array.from({ length: MAX_HELD_WARNINGS + extra }, (_, i) => writeFile(path.join(dir, `bad-${i}.torrent`), 'x')))
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', loadPath: dir, discovery: false, utp: false })
  t.after(() => fish.close())
  const got: Warning[] = []
  await new Promise<void>(resolve => fish.on('warning', w => { got.push(w); if (w.code === 'WARN_MORE_LOAD_WARNINGS') resolve() }))
  assert.equal(got.length, MAX_HELD_WARNINGS + 1)
  assert.match(got.at(-1)!.message, new RegExp(`^${extra} more warnings`))
})
