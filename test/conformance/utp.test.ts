// The conformance suite over uTP (utp-native) on loopback, MSE allowed as in production.
import { test } from 'node:test'
import { createRequire } from 'node:module'
import { listenUtp } from '../../src/transport/utp.ts'
import { conformanceCases, runConformanceCase, type ConformanceTransport } from './suite.ts'

const utpNative = createRequire(import.meta.url)('utp-native')

const utp: ConformanceTransport = {
  name: 'utp',
  encryption: true,
  async start (peer) {
    const listener = await listenUtp(peer, { port: 0, host: '127.0.0.1' })
    // One client socket per peer under test, as a separate uTP endpoint would have.
    const client = utpNative()
    return {
      connect: () => new Promise((resolve, reject) => {
        const conn = client.connect(listener.port, '127.0.0.1')
        conn.once('connect', () => { conn.off('error', reject); resolve(conn) })
        conn.once('error', reject)
      }),
      async stop () {
        for (const conn of [...client.connections]) conn.destroy()
        // libutp waits out its close timeout for peers that are gone: do not hold the test for it.
        client.unref()
        client.close()
        await listener.close()
      }
    }
  }
}

for (const kase of conformanceCases) {
  test(`utp: ${kase.name}`, () => runConformanceCase(utp, kase))
}
