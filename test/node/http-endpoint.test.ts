/**
 * The `/<infohash>.torrent` endpoint (the magnet's `xs=` target) over a real HTTP socket:
 * exact bytes, content type, file name, CORS, ETag revalidation, HEAD, the hash forms it
 * accepts, and the requests it must refuse: malformed hashes, unknown ones, path traversal
 * (plain and percent-encoded), oversized URLs, other methods. Plus many requests at once.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { createTorrentFish, type TorrentFish } from '../../src/node/torrent-fish.ts'
import { MAX_URL_LENGTH } from '../../src/http/server.ts'
import { makeTorrent, pseudoRandomBytes, singleFileTorrent, writeTorrentFiles, type FixtureTorrent } from '../fixtures/torrents.ts'
import { tmpDir, removeDir } from '../fixtures/tmp.ts'

let fish: TorrentFish
let base: string
let port: number
let dir: string
let memory: FixtureTorrent
let onDisk: FixtureTorrent
let oddName: FixtureTorrent

/** RFC 4648 base32 of the 20 hash bytes, as old magnets carry it. */
function base32 (hex: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const byte of Buffer.from(hex, 'hex')) bits += byte.toString(2).padStart(8, '0')
  return bits.match(/.{5}/g)!.map(b => alphabet[parseInt(b, 2)]).join('')
}

interface RawResponse { status: number, headers: http.IncomingHttpHeaders, body: Buffer }

/** A request with the path exactly as given (fetch and URL would normalise `..` away). */
function raw (rawPath: string, options: { method?: string, headers?: Record<string, string> } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: options.method ?? 'GET', headers: options.headers, agent: false }, res => {
      const chunks: Buffer[] = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end()
  })
}

before(async () => {
  dir = await tmpDir(undefined, 'http-endpoint')
  memory = await singleFileTorrent({ name: 'memory.bin', urlList: ['http://127.0.0.1:9/'] })
  onDisk = await singleFileTorrent({ name: 'on disk.bin', urlList: ['http://127.0.0.1:9/'], seed: 'disk' })
  oddName = await makeTorrent({ name: '../"quoted"\r\n<é>.bin', content: pseudoRandomBytes(1000, 'odd'), urlList: ['http://127.0.0.1:9/'] })
  await writeTorrentFiles(dir, [onDisk])
  // A file next to the torrents that must never be reachable.
  await writeFile(path.join(dir, 'secret.txt'), 'not for you')
  fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', loadPath: dir, watch: false, http: { port: 0, host: '127.0.0.1' } })
  await fish.addTorrent(memory.torrentBytes)
  await fish.addTorrent(oddName.torrentBytes)
  base = fish.http!.url
  port = fish.http!.port
})

after(async () => {
  await fish.close()
  await removeDir(dir)
})

test('GET /<hex>.torrent returns the exact .torrent bytes with type, file name, CORS and caching headers', async () => {
  for (const t of [memory, onDisk]) {
    const res = await fetch(`${base}/${t.infoHash}.torrent`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/x-bittorrent')
    assert.equal(res.headers.get('access-control-allow-origin'), '*')
    assert.match(res.headers.get('etag') ?? '', /^"[^"]+"$/)
    assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/)
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    const body = new Uint8Array(await res.arrayBuffer())
    assert.ok(Buffer.from(body).equals(Buffer.from(t.torrentBytes)), `${t.name}: bytes differ`)
    assert.equal(Number(res.headers.get('content-length')), t.torrentBytes.length)
  }
  const res = await fetch(`${base}/${onDisk.infoHash}.torrent`)
  assert.equal(res.headers.get('content-disposition'), `attachment; filename="on disk.bin.torrent"; filename*=UTF-8''on%20disk.bin.torrent`)
})

test('a hostile torrent name gives a safe Content-Disposition file name', async () => {
  const res = await fetch(`${base}/${oddName.infoHash}.torrent`)
  assert.equal(res.status, 200)
  const cd = res.headers.get('content-disposition') ?? ''
  const ascii = /filename="([^"]*)"/.exec(cd)?.[1] ?? ''
  assert.match(ascii, /^[A-Za-z0-9._ -]+\.torrent$/)
  assert.ok(!ascii.includes('..') || !ascii.startsWith('.'), ascii)
  assert.ok(!/[\r\n"/\\]/.test(ascii))
  assert.match(cd, /filename\*=UTF-8''[^\s;"]+$/)
  await res.arrayBuffer()
})

test('upper-case hex and base32 name the same torrent', async () => {
  for (const name of [memory.infoHash.toUpperCase(), base32(memory.infoHash), base32(memory.infoHash).toLowerCase()]) {
    const res = await fetch(`${base}/${name}.torrent`)
    assert.equal(res.status, 200, name)
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(memory.torrentBytes)))
  }
})

test('ETag: If-None-Match gets 304 with no body; a stale tag gets the file', async () => {
  const first = await fetch(`${base}/${memory.infoHash}.torrent`)
  const etag = first.headers.get('etag')!
  await first.arrayBuffer()
  const again = await raw(`/${memory.infoHash}.torrent`, { headers: { 'If-None-Match': etag } })
  assert.equal(again.status, 304)
  assert.equal(again.body.length, 0)
  assert.equal(again.headers.etag, etag)
  const listed = await raw(`/${memory.infoHash}.torrent`, { headers: { 'If-None-Match': `"nope", W/${etag}` } })
  assert.equal(listed.status, 304)
  const stale = await raw(`/${memory.infoHash}.torrent`, { headers: { 'If-None-Match': '"stale"' } })
  assert.equal(stale.status, 200)
  assert.equal(stale.body.length, memory.torrentBytes.length)
  // Different torrents, different tags.
  const other = await raw(`/${onDisk.infoHash}.torrent`)
  assert.notEqual(other.headers.etag, etag)
})

test('HEAD gives the headers and length without a body', async () => {
  const res = await raw(`/${memory.infoHash}.torrent`, { method: 'HEAD' })
  assert.equal(res.status, 200)
  assert.equal(res.body.length, 0)
  assert.equal(Number(res.headers['content-length']), memory.torrentBytes.length)
  assert.equal(res.headers['content-type'], 'application/x-bittorrent')
})

test('CORS preflight is answered', async () => {
  const res = await raw(`/${memory.infoHash}.torrent`, { method: 'OPTIONS', headers: { Origin: 'https://example.org', 'Access-Control-Request-Method': 'GET' } })
  assert.equal(res.status, 204)
  assert.equal(res.headers['access-control-allow-origin'], '*')
  assert.match(String(res.headers['access-control-allow-methods']), /GET/)
})

test('unknown hash: 404; malformed hash: 400; both JSON with a code', async () => {
  const unknown = await raw(`/${'ab'.repeat(20)}.torrent`)
  assert.equal(unknown.status, 404)
  assert.equal(JSON.parse(unknown.body.toString()).error.code, 'ERR_UNKNOWN_TORRENT')
  assert.equal(unknown.headers['access-control-allow-origin'], '*')
  for (const bad of ['abc', 'g'.repeat(40), 'a'.repeat(39), 'a'.repeat(41), '1'.repeat(32), 'secret', '']) {
    const res = await raw(`/${bad}.torrent`)
    assert.equal(res.status, 400, `"${bad}.torrent"`)
    assert.equal(JSON.parse(res.body.toString()).error.code, 'ERR_BAD_INFO_HASH')
  }
})

test('path traversal, plain and percent-encoded, reaches nothing on disk', async () => {
  const attempts = [
    '/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2fsecret.txt', '/secret.txt',
    `/../${onDisk.infoHash}.torrent`, `/..%2f${onDisk.infoHash}.torrent`, `/%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
    '/..\\secret.txt', '/....//secret.txt', `/${onDisk.infoHash}.torrent/../secret.txt`, `/${onDisk.infoHash}.torrent%00.txt`,
    '//etc/passwd', '/etc/passwd', '/%252e%252e/secret.txt', `/x/${onDisk.infoHash}.torrent`
  ]
  for (const p of attempts) {
    const res = await raw(p)
    assert.ok(res.status === 400 || res.status === 404, `${p}: ${res.status}`)
    assert.ok(!res.body.toString().includes('not for you'), `${p} leaked a file`)
    assert.ok(!res.body.toString().includes('root:'), `${p} leaked /etc/passwd`)
  }
})

test('an over-long URL is refused (414), a giant one by Node itself (431)', async () => {
  const long = await raw(`/${'a'.repeat(MAX_URL_LENGTH + 10)}.torrent`)
  assert.equal(long.status, 414)
  const giant = await raw(`/${'a'.repeat(100_000)}.torrent`).catch(err => err as Error)
  // Node answers 431 and closes, or resets while we still write; never a 2xx.
  if (!(giant instanceof Error)) assert.equal(giant.status, 431)
  // Still serving afterwards.
  assert.equal((await raw(`/${memory.infoHash}.torrent`)).status, 200)
})

test('other methods on a torrent path: 405', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const res = await raw(`/${memory.infoHash}.torrent`, { method })
    assert.equal(res.status, 405, method)
  }
})

test('a garbage request line does not take the server down', async () => {
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET \x00\x01 HTTP/1.1\r\n\r\n'))
    s.on('data', () => {})
    s.on('close', () => resolve())
    s.on('error', reject)
  })
  assert.equal((await raw(`/${memory.infoHash}.torrent`)).status, 200)
})

test('200 concurrent requests over 20 connections all get the exact bytes', async t => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 })
  try {
    const one = (hash: string): Promise<Buffer> => new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: `/${hash}.torrent`, agent }, res => {
        const chunks: Buffer[] = []
        res.on('data', c => chunks.push(c))
        res.on('end', () => res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${res.statusCode}`)))
      }).on('error', reject)
    })
    const started = Date.now()
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => one(i % 2 ? memory.infoHash : onDisk.infoHash).then(b => [i, b] as const)))
    for (const [i, body] of results) assert.ok(body.equals(Buffer.from((i % 2 ? memory : onDisk).torrentBytes)), `request ${i}`)
    t.diagnostic(`200 requests in ${Date.now() - started} ms`)
  } finally {
    agent.destroy()
  }
})

test('a torrent removed from the service is 404 right away', async () => {
  const t = await singleFileTorrent({ name: 'gone.bin', seed: 'gone' })
  await fish.addTorrent(t.torrentBytes)
  assert.equal((await raw(`/${t.infoHash}.torrent`)).status, 200)
  fish.removeTorrent(t.infoHash)
  assert.equal((await raw(`/${t.infoHash}.torrent`)).status, 404)
})

test('unknown routes: 404', async () => {
  for (const p of ['/nope', '/torrents', `/torrents/${memory.infoHash}`, '/health/x', '/metrics.txt']) {
    assert.equal((await raw(p)).status, 404, p)
  }
})
