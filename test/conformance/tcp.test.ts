// The conformance suite over real TCP sockets on loopback, MSE allowed as in production.
import { test } from 'node:test'
import net from 'node:net'
import { listenTcp } from '../../src/transport/tcp.ts'
import { casesFor, runConformanceCase, type ConformanceTransport } from './suite.ts'

const tcp: ConformanceTransport = {
  name: 'tcp',
  encryption: true,
  async start (peer) {
    const listener = await listenTcp(peer, { port: 0, host: '127.0.0.1' })
    const sockets = new Set<net.Socket>()
    return {
      connect: () => new Promise((resolve, reject) => {
        const socket = net.connect(listener.port, '127.0.0.1', () => resolve(socket))
        socket.once('error', reject)
        sockets.add(socket)
      }),
      async stop () {
        for (const s of sockets) s.destroy()
        await listener.close()
      }
    }
  }
}

for (const kase of casesFor(tcp)) {
  test(`tcp: ${kase.name}`, () => runConformanceCase(tcp, kase))
}
