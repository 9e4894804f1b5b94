// Contract of src/adapters/node-tcp-handle.ts, the reach into Node's stream internals that
// serves accepted TCP connections without a net.Socket: on real loopback sockets, the bytes
// either way arrive whole and in order (a gathering write too), backpressure says "wait" and
// then drains, the peer's FIN and RST arrive as `end` and `error`, a throw from a listener
// closes only that stream, and a destroy with writes still in flight is quiet. If a Node
// upgrade moves what the adapter uses, the first test names it; torrent-fish then keeps
// net.Socket (tcpHandleStream is null).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { gateAccepts } from '../../src/transport/tcp-accept-gate.ts'
import { inheritNoDelay, isTcpHandle, tcpHandleStream, tcpHandleStreamsAvailable, type TcpHandleStream } from '../../src/adapters/node-tcp-handle.ts'

/** A listener whose admitted connections become handle streams, handed to `onStream` before reading starts. */
async function handleServer (onStream: (stream: TcpHandleStream) => void): Promise<{ server: net.Server, port: number, sockets: () => number }> {
  const server = net.createServer()
  let sockets = 0
  server.on('connection', s => { sockets++; s.destroy() })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const installed = gateAccepts(server, () => false, undefined, clientHandle => {
    const stream = tcpHandleStream(clientHandle)
    if (!stream) return false
    stream.setNoDelay()
    onStream(stream)
    stream.start()
    return true
  })
  assert.equal(installed, true, 'the accept gate could not be installed (see node-net-accept.test.ts)')
  return { server, port: (server.address() as net.AddressInfo).port, sockets: () => sockets }
}

function collect (socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = []
  socket.on('data', c => chunks.push(c))
  return new Promise((resolve, reject) => {
    socket.on('end', () => resolve(Buffer.concat(chunks)))
    socket.on('error', reject)
  })
}

test(`node ${process.version}: the stream binding and an accepted handle have what the adapter uses`, async (t) => {
  assert.equal(tcpHandleStreamsAvailable(), true,
    "process.binding('stream_wrap') no longer has streamBaseState, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync and WriteWrap")
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => server.close())
  const handle = (server as unknown as { _handle: { onconnection: (this: unknown, err: number, h: unknown) => unknown } })._handle
  const original = handle.onconnection
  let shape: boolean | undefined
  handle.onconnection = function (err, clientHandle) {
    shape = isTcpHandle(clientHandle)
    return original.call(this, err, clientHandle)
  }
  const connection = once(server, 'connection')
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  const [socket] = await connection as [net.Socket]
  socket.destroy(); client.destroy()
  assert.equal(shape, true, 'an accepted handle lacks readStart/readStop/writeBuffer/writev/writeQueueSize/setNoDelay/close')
})

test('bytes both ways arrive whole and in order; a write past the high-water mark says wait, then drains', async (t) => {
  const up = randomBytes(1 << 20)
  const down = randomBytes(8 << 20)
  let received: Promise<Buffer> | undefined
  let sawFull = false
  let drained = 0
  const { server, port, sockets } = await handleServer(stream => {
    const chunks: Buffer[] = []
    let total = 0
    received = new Promise(resolve => {
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        total += chunk.length
        if (total < up.length) return
        resolve(Buffer.concat(chunks))
        // Reply in 64 KiB writes, pausing at each "wait" until drain, then end with a FIN.
        let at = 0
        const pump = (): void => {
          while (at < down.length) {
            const ok = stream.write(down.subarray(at, at + 65536))
            at += 65536
            if (!ok) { sawFull = true; stream.once('drain', () => { drained++; pump() }); return }
          }
          if (stream.writesPending === 0) stream.destroy()
          else stream.once('drain', () => stream.destroy())
        }
        pump()
      })
    })
  })
  t.after(() => server.close())
  const client = net.connect(port, '127.0.0.1')
  const back = collect(client)
  // The upload in uneven pieces, so reads split and join anywhere.
  for (let at = 0; at < up.length;) { const n = 1 + Math.floor(Math.random() * 50_000); client.write(up.subarray(at, at + n)); at += n }
  const got = await back
  assert.ok(received, 'the server never got a stream')
  assert.ok((await received).equals(up), 'the bytes read differ from the bytes sent')
  assert.ok(got.equals(down), `the client got ${got.length} bytes, not the ${down.length} written in order`)
  assert.equal(sawFull, true, 'write() never said to wait while 8 MiB went to a client')
  assert.ok(drained > 0, "'drain' never fired")
  assert.equal(sockets(), 0, 'a net.Socket was built for an adopted handle')
})

test('writev sends the chunks as one gathering write, in order', async (t) => {
  const parts = [randomBytes(100), randomBytes(70_000), randomBytes(5), randomBytes(300_000)]
  const { server, port } = await handleServer(stream => {
    stream.on('data', () => {
      stream.writev(parts)
      if (stream.writesPending === 0) stream.destroy()
      else stream.once('drain', () => stream.destroy())
    })
  })
  t.after(() => server.close())
  const client = net.connect(port, '127.0.0.1')
  const back = collect(client)
  client.write('go')
  assert.ok((await back).equals(Buffer.concat(parts)))
})

test("the peer's FIN is `end`, its RST is `error` (ECONNRESET); each closes the handle", async (t) => {
  const events: string[] = []
  let next: () => void = () => {}
  const { server, port } = await handleServer(stream => {
    stream.on('data', () => {})
    stream.on('end', () => { events.push('end'); next() })
    stream.on('error', (err: NodeJS.ErrnoException) => { events.push(`error ${err.code}`); next() })
    stream.on('close', () => { events.push('close') })
  })
  t.after(() => server.close())

  const fin = net.connect(port, '127.0.0.1')
  await once(fin, 'connect')
  const ended = new Promise<void>(resolve => { next = resolve })
  fin.end()
  await ended
  await once(fin, 'close') // our side closed the handle after the FIN
  assert.deepEqual(events, ['end', 'close'])

  events.length = 0
  const rst = net.connect(port, '127.0.0.1')
  rst.on('error', () => {})
  await once(rst, 'connect')
  rst.write('x')
  const failed = new Promise<void>(resolve => { next = resolve })
  rst.resetAndDestroy()
  await failed
  assert.deepEqual(events, ['error ECONNRESET', 'close'])
})

test('a throw from a data listener closes that stream with the error; the process and the other streams go on', async (t) => {
  const errors: string[] = []
  let n = 0
  const { server, port } = await handleServer(stream => {
    const mine = n++
    stream.on('error', (err: Error) => errors.push(err.message))
    stream.on('data', (chunk: Buffer) => {
      if (mine === 0) throw new Error('listener bug on a crafted message')
      stream.write(chunk)
    })
  })
  t.after(() => server.close())
  const bad = net.connect(port, '127.0.0.1')
  bad.on('error', () => {})
  await once(bad, 'connect')
  bad.write('boom')
  await once(bad, 'close')
  assert.deepEqual(errors, ['listener bug on a crafted message'])

  const good = net.connect(port, '127.0.0.1')
  good.write('echo')
  const [reply] = await once(good, 'data') as [Buffer]
  assert.equal(reply.toString(), 'echo')
  good.destroy()
})

test('destroy with a large write still in flight is quiet: no callback, no throw, the peer sees the close', async (t) => {
  const calls: string[] = []
  const { server, port } = await handleServer(stream => {
    stream.on('data', () => {
      stream.write(randomBytes(16 << 20)) // more than the kernel takes at once: stays in flight
      stream.destroy()
      stream.write(Buffer.from('after destroy')) // dropped, as a destroyed socket drops it
    })
    stream.on('error', (err: Error) => calls.push(`error ${err.message}`))
    stream.on('drain', () => calls.push('drain'))
  })
  t.after(() => server.close())
  const client = net.connect(port, '127.0.0.1')
  client.on('error', () => {})
  client.on('data', () => {})
  client.write('go')
  await once(client, 'close')
  assert.deepEqual(calls, [])
})

/** TCP_NODELAY of the socket at fd 3 (the accepted one, shared with a child), read by python. */
function noDelayOf (fd: number): number {
  const child = spawnSync('/usr/bin/python3', ['-c', 'import socket; print(socket.socket(fileno=3).getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))'],
    { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  return Number(child.stdout.trim())
}

test('linux: TCP_NODELAY set on the listening socket is on every accepted one (no setsockopt per connection)', { skip: process.platform !== 'linux' && 'the kernel copies listener options on Linux' }, async (t) => {
  for (const inherit of [false, true]) {
    const server = net.createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    if (inherit) assert.equal(inheritNoDelay(server), true, "the listening handle's setNoDelay failed")
    // The accepted handle is taken (kept open, no socket) until python has looked at it.
    const accepted = new Promise<{ fd: number, close: () => void }>(resolve => {
      gateAccepts(server, () => false, undefined, clientHandle => { resolve(clientHandle as { fd: number, close: () => void }); return true })
    })
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
    client.on('error', () => {})
    const handle = await accepted
    const noDelay = noDelayOf(handle.fd)
    handle.close()
    client.destroy()
    server.close()
    assert.equal(noDelay, inherit ? 1 : 0, inherit ? 'an accepted socket did not inherit TCP_NODELAY' : 'the check cannot tell: Nagle is off without it')
  }
})
