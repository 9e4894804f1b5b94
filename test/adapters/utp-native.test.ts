/**
 * Contract of src/adapters/utp-native.ts, on real utp-native sockets and real UDP datagrams on
 * loopback: utp-native is pinned exactly, the adapter's callback is the one its binding calls,
 * every datagram arrives intact at the start of the one receive buffer (no new buffer however
 * many arrive; a view kept past the call is read over, which is why consumers copy), and a
 * throw in the delivery neither reaches utp-native's fatal-exception path nor stops the socket.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import dgram from 'node:dgram'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadUtp } from '../../src/transport/utp.ts'
import { deliverDatagrams, type DeliverDatagram } from '../../src/adapters/utp-native.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const factory = loadUtp()
const skip = factory ? false : 'utp-native does not load on this machine'

test('utp-native is pinned exactly (its internals are used), and that is the version installed', { skip }, () => {
  const wanted = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).optionalDependencies['utp-native']
  assert.match(wanted, /^\d+\.\d+\.\d+$/, `utp-native must be pinned exactly, not "${wanted}"`)
  const installed = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'utp-native', 'package.json'), 'utf8')).version
  assert.equal(installed, wanted, `utp-native: installed ${installed}, pinned ${wanted}; re-run test/adapters after an upgrade`)
})

/** A datagram libutp does not take (a DHT message starts with `d`), numbered, `size` bytes. */
function datagram (i: number, size: number): Buffer {
  const b = Buffer.alloc(size)
  b[0] = 0x64
  for (let j = 1; j < size; j++) b[j] = (i * 31 + j * 7) & 0xff
  b.writeUInt32BE(i, 1)
  return b
}

/**
 * Sends `count` datagrams one at a time (the next once the last arrived: the kernel drops
 * datagrams a full receive queue cannot take), calling `deliver` for each; resolves with the
 * socket once all arrived. Nothing here throws inside utp-native's callback (that is its
 * fatal-exception path): `deliver` records what it finds, the test asserts afterwards.
 */
async function exchange (t: { after: (fn: () => void) => void }, count: number, size: number, deliver: DeliverDatagram, onError: (err: unknown) => void = () => {}): Promise<{ internals: { _buffer: Buffer }, firstBuffer: Buffer }> {
  const socket = factory!() as unknown as { listen (port: number, host: string): void, address (): { port: number }, close (): void, once (e: string, f: () => void): void, on (e: string, f: (err: Error) => void): void, _buffer: Buffer }
  let sent = 0
  const client = dgram.createSocket('udp4')
  t.after(() => { client.close(); socket.close() })
  let done: () => void
  let fail: (err: Error) => void
  const all = new Promise<void>((resolve, reject) => { done = resolve; fail = reject })
  // Where the override is not the callback the binding calls, the datagram takes utp-native's
  // own path and comes out as a 'message' event: fail then, rather than wait for the test's timeout.
  ;(socket as unknown as { on (e: string, f: () => void): void }).on('message', () => {
    fail(new Error('a datagram reached utp-native\'s own message path: the adapter is not the callback its binding calls'))
  })
  deliverDatagrams(socket, (message, rinfo) => {
    try {
      deliver(message, rinfo)
    } finally {
      if (sent < count) client.send(datagram(sent++, size), socket.address().port, '127.0.0.1')
      else done()
    }
  }, onError)
  socket.on('error', err => { throw err })
  const firstBuffer = socket._buffer
  await new Promise<void>(resolve => { socket.once('listening', resolve); socket.listen(0, '127.0.0.1') })
  client.send(datagram(sent++, size), socket.address().port, '127.0.0.1')
  await all
  return { internals: socket, firstBuffer }
}

test('every datagram is read into the start of the same receive buffer, intact, however many arrive', { skip }, async t => {
  let n = 0
  const wrong: number[] = []
  const where = new Set<string>()
  const stores = new Set<ArrayBufferLike>()
  const { internals, firstBuffer } = await exchange(t, 500, 1000, message => {
    if (!message.equals(datagram(n, 1000))) wrong.push(n)
    stores.add(message.buffer)
    where.add(String(message.byteOffset))
    n++
  })
  assert.equal(n, 500)
  assert.deepEqual(wrong, [], 'every datagram arrived intact')
  assert.deepEqual([stores.size, [...stores][0] === firstBuffer.buffer, [...where]], [1, true, [String(firstBuffer.byteOffset)]], 'every one at the start of the first buffer')
  assert.equal(internals._buffer, firstBuffer, '500 KB of datagrams took no new 128 KiB buffer')
})

test('a view kept past its call is read over by the next datagram (the reason consumers copy)', { skip }, async t => {
  const kept: Buffer[] = []
  const copies: Buffer[] = []
  await exchange(t, 3, 300, message => { kept.push(message); copies.push(Buffer.from(message)) })
  assert.deepEqual(copies.map((c, i) => c.equals(datagram(i, 300))), [true, true, true], 'each copy is its datagram')
  assert.ok(kept[0].equals(datagram(2, 300)), 'the first view now shows the last datagram')
})

test('a throw while delivering a datagram is reported, and the socket goes on delivering', { skip }, async t => {
  const errors: unknown[] = []
  let n = 0
  await exchange(t, 20, 200, () => {
    n++
    if (n === 5) throw new Error('crafted datagram')
  }, err => errors.push(err))
  assert.equal(n, 20)
  assert.equal(errors.length, 1)
  assert.match(String(errors[0]), /crafted datagram/)
})

test('the adapter refuses a socket already bound (its callback was taken at bind time)', { skip }, async t => {
  const socket = factory!() as unknown as { listen (port: number, host: string): void, once (e: string, f: () => void): void, close (): void }
  t.after(() => socket.close())
  await new Promise<void>(resolve => { socket.once('listening', resolve); socket.listen(0, '127.0.0.1') })
  assert.throws(() => deliverDatagrams(socket, () => {}, () => {}), { code: 'ERR_ADAPTER' })
})
