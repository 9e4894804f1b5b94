/**
 * A rejected admin request (bad or missing token, or a route that takes no body) is answered
 * and its connection closed without reading the body: a 100 MiB upload from someone without
 * the token must not cost us 100 MiB of reading. The client writes as fast as the socket
 * takes bytes and counts what it could write before the server closed the connection.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { createTorrentFish } from '../../src/node/torrent-fish.ts'

const TOKEN = 'correct-horse-battery'
const BODY = 100 * 1024 * 1024
/** Socket buffers on both sides of loopback hold a few MiB; reading the body would be 100. */
const MAX_ACCEPTED = 24 * 1024 * 1024

interface Outcome { status: number, written: number, closed: boolean }

/** Sends `method path` with a 100 MiB body, writing until the server closes the socket. */
async function upload (port: number, method: string, target: string, auth: string | undefined): Promise<Outcome> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let response = ''
  socket.on('data', (d: Buffer) => { response += d.toString('latin1') })
  const ended = new Promise<void>(resolve => { socket.once('close', () => resolve()) })
  socket.on('error', () => {})
  socket.write(`${method} ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-bittorrent\r\nContent-Length: ${BODY}\r\n${auth ? `Authorization: ${auth}\r\n` : ''}\r\n`)
  const chunk = Buffer.alloc(256 * 1024, 0x61)
  let written = 0
  let closed = false
  void ended.then(() => { closed = true })
  while (!closed && written < BODY) {
    const ok = socket.write(chunk)
    written += chunk.length
    // Wait for the socket to take more, or for the server to close it: never a timer.
    if (!ok) await Promise.race([once(socket, 'drain').catch(() => {}), ended])
  }
  if (written >= BODY) socket.end()
  await ended
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0)
  return { status, written, closed }
}

test('admin: a rejected 100 MiB body is not read to the end', async t => {
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', http: { port: 0, host: '127.0.0.1', token: TOKEN } })
  t.after(() => fish.close())
  const port = Number(new URL(fish.http!.url).port)
  const cases: Array<[string, string, string | undefined, number]> = [
    ['POST', '/torrents', undefined, 401],
    ['POST', '/torrents', 'Bearer wrong-token-123', 401],
    ['DELETE', '/torrents/0123456789abcdef0123456789abcdef01234567', 'Basic Zm9vOmJhcg==', 401],
    ['PUT', '/torrents', `Bearer ${TOKEN}`, 405],
    ['POST', '/health', undefined, 405],
    // The right token but a body above the cap (16 MiB by default): 413, also unread.
    ['POST', '/torrents', `Bearer ${TOKEN}`, 413]
  ]
  for (const [method, target, auth, status] of cases) {
    const out = await upload(port, method, target, auth)
    assert.equal(out.status, status, `${method} ${target} ${auth ?? '(no token)'}`)
    t.diagnostic(`${method} ${target} -> ${out.status}: client wrote ${(out.written / 2 ** 20).toFixed(1)} MiB before the close`)
    assert.ok(out.written < MAX_ACCEPTED, `${method} ${target}: the server read ${(out.written / 2 ** 20).toFixed(1)} MiB of a rejected body before closing`)
  }
  assert.equal(fish.torrents().length, 0)
  // And the server still answers.
  assert.equal((await fetch(`${fish.http!.url}/health`)).status, 200)
})
