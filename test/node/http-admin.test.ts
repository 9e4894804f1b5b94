/**
 * `POST /torrents` and `DELETE /torrents/<infohash>`: off without a token, 401 with a wrong
 * one, a body size cap, bad torrents refused, duplicates refused; with a load path the added
 * torrent is written there (and survives a restart), and a delete removes the file too;
 * without one it lives in memory and is served (ut_metadata and .torrent) all the same.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'
import { singleFileTorrent, writeTorrentFiles } from '../fixtures/torrents.ts'
import { tmpDir } from '../fixtures/tmp.ts'

const TOKEN = 'correct-horse-battery'

function post (base: string, body: Uint8Array | string, token?: string): Promise<Response> {
  return fetch(`${base}/torrents`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/x-bittorrent', ...(token ? { Authorization: `Bearer ${token}` } : {}) }
  })
}

function del (base: string, hash: string, token?: string): Promise<Response> {
  return fetch(`${base}/torrents/${hash}`, { method: 'DELETE', headers: token ? { Authorization: `Bearer ${token}` } : {} })
}

test('without a token the admin routes do not exist', async t => {
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', http: { port: 0, host: '127.0.0.1' } })
  t.after(() => fish.close())
  const torrent = await singleFileTorrent({ name: 'no-admin.bin' })
  assert.equal((await post(fish.http!.url, torrent.torrentBytes, TOKEN)).status, 404)
  assert.equal((await del(fish.http!.url, torrent.infoHash, TOKEN)).status, 404)
  assert.equal(fish.torrents().length, 0)
})

test('in memory: add, serve, refuse duplicates and junk, delete; wrong tokens get 401', async t => {
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', http: { port: 0, host: '127.0.0.1', token: TOKEN, maxBodyBytes: 64 * 1024 } })
  t.after(() => fish.close())
  const base = fish.http!.url
  const torrent = await singleFileTorrent({ name: 'admin-mem.bin', urlList: ['http://seed.example/'] })

  for (const token of [undefined, 'wrong-token-123', `${TOKEN}x`]) {
    const res = await post(base, torrent.torrentBytes, token)
    assert.equal(res.status, 401, String(token))
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/)
  }
  assert.equal(fish.torrents().length, 0)

  const added = await post(base, torrent.torrentBytes, TOKEN)
  assert.equal(added.status, 201)
  const body = await added.json() as any
  assert.equal(body.added.infoHash, torrent.infoHash)
  assert.equal(body.persisted, false)
  const served = await fetch(`${base}/${torrent.infoHash}.torrent`)
  assert.ok(Buffer.from(await served.arrayBuffer()).equals(Buffer.from(torrent.torrentBytes)), 'served exactly as posted')

  assert.equal((await post(base, torrent.torrentBytes, TOKEN)).status, 409)
  const junk = await post(base, 'd4:spam4:eggse', TOKEN)
  assert.equal(junk.status, 400)
  assert.equal((await junk.json() as any).error.code, 'ERR_INVALID_TORRENT')
  const huge = await post(base, new Uint8Array(65 * 1024), TOKEN).catch(err => err as Error)
  if (!(huge instanceof Error)) assert.equal(huge.status, 413)

  assert.equal((await del(base, torrent.infoHash, 'nope-nope-nope')).status, 401)
  assert.equal((await del(base, 'xyz', TOKEN)).status, 400)
  const removed = await del(base, torrent.infoHash.toUpperCase(), TOKEN)
  assert.equal(removed.status, 200)
  assert.equal((await removed.json() as any).removed.infoHash, torrent.infoHash)
  assert.equal(fish.getTorrent(torrent.infoHash), undefined)
  assert.equal((await del(base, torrent.infoHash, TOKEN)).status, 404)
  assert.equal((await fetch(`${base}/${torrent.infoHash}.torrent`)).status, 404)
})

test('with a load path: the posted torrent is written there, survives a restart, and DELETE removes the file', async t => {
  const dir = await tmpDir(t, 'admin-load')
  const existing = await singleFileTorrent({ name: 'already-there.bin', seed: 'existing' })
  const [existingFile] = await writeTorrentFiles(dir, [existing])
  const options = { port: 0, listenInterface: '127.0.0.1', loadPath: dir, http: { port: 0, host: '127.0.0.1', token: TOKEN } }
  const fish = await createTorrentFish(options)
  let closed = false
  t.after(() => closed ? undefined : fish.close())
  const torrent = await singleFileTorrent({ name: 'admin-disk.bin', seed: 'posted' })

  const res = await post(fish.http!.url, torrent.torrentBytes, TOKEN)
  assert.equal(res.status, 201)
  const body = await res.json() as any
  assert.equal(body.persisted, true)
  const file = path.join(dir, `${torrent.infoHash}.torrent`)
  assert.equal(body.added.source, file)
  assert.ok(Buffer.from(await readFile(file)).equals(Buffer.from(torrent.torrentBytes)))
  assert.equal(fish.loader!.infoHashOf(file), torrent.infoHash, 'the directory loader owns it')
  assert.ok((await readdir(dir)).every(name => !name.endsWith('.tmp')), 'no temp file left behind')
  await fish.close()
  closed = true

  // A restart finds it on disk.
  const again = await createTorrentFish(options)
  t.after(() => again.close())
  assert.ok(again.getTorrent(torrent.infoHash), 'loaded again after a restart')
  assert.ok(again.getTorrent(existing.infoHash))

  // DELETE of a file-backed torrent removes its file; the other stays.
  const gone = await del(again.http!.url, existing.infoHash, TOKEN)
  assert.equal(gone.status, 200)
  assert.equal((await gone.json() as any).deletedFile, true)
  await assert.rejects(readFile(existingFile))
  await again.loader!.idle()
  assert.equal(again.getTorrent(existing.infoHash), undefined)
  assert.ok(again.getTorrent(torrent.infoHash))
})
