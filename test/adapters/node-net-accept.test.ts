// Contract of src/transport/tcp-accept-gate.ts, the one reach into Node's internals: a
// listening net.Server's `_handle.onconnection(err, clientHandle)` is called for each accepted
// connection before any net.Socket exists, and the client handle has getpeername() and close().
// If a Node upgrade changes that, these fail and name what moved; torrent-fish itself then
// falls back to refusing after the socket exists (gateAccepts returns false).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { gateAccepts } from '../../src/transport/tcp-accept-gate.ts'

async function listening (): Promise<net.Server> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

test(`node ${process.version}: a listening server's handle has onconnection, called before any socket exists`, async (t) => {
  const server = await listening()
  t.after(() => server.close())
  const handle = (server as unknown as { _handle?: { onconnection?: unknown } })._handle
  assert.ok(handle, 'net.Server no longer keeps its listening handle in `_handle`')
  assert.equal(typeof handle.onconnection, 'function', 'the listening handle has no `onconnection` callback any more')
  const seen: string[] = []
  const original = handle.onconnection as (this: unknown, err: number, h: unknown) => unknown
  handle.onconnection = function (err: number, clientHandle: unknown) {
    const h = clientHandle as { getpeername?: unknown, close?: unknown }
    seen.push(`${typeof h?.getpeername}/${typeof h?.close}`)
    return original.call(this, err, clientHandle)
  }
  const connection = once(server, 'connection')
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  const [socket] = await connection as [net.Socket]
  assert.deepEqual(seen, ['function/function'], 'onconnection must run first, with a client handle that has getpeername() and close()')
  socket.destroy(); client.destroy()
})

test('gateAccepts: a refused connection is closed without a socket; the others reach `connection`, with the right address', async (t) => {
  const server = await listening()
  t.after(() => server.close())
  const asked: Array<[string, number]> = []
  let refuseNext = true
  assert.equal(gateAccepts(server, (address, port) => { asked.push([address, port]); const r = refuseNext; refuseNext = false; return r }), true,
    'the gate could not be installed on this Node: the handle shape changed (see the first test)')
  let connections = 0
  server.on('connection', s => { connections++; s.destroy() })
  const port = (server.address() as net.AddressInfo).port

  const refused = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.7' })
  refused.on('error', () => {})
  let localPort = 0
  refused.on('connect', () => { localPort = refused.localPort! })
  await once(refused, 'close') // closed by the server: never a 'connection'
  assert.equal(connections, 0)
  assert.equal(asked[0][0], '127.0.0.7')
  assert.equal(asked[0][1], localPort)

  const admitted = net.connect({ port, host: '127.0.0.1' })
  await once(server, 'connection')
  admitted.destroy()
  assert.equal(connections, 1)
  assert.equal(asked.length, 2)
})

test('gateAccepts on a server that is not listening changes nothing and says so', () => {
  assert.equal(gateAccepts(net.createServer(), () => true), false)
})
