// The conformance suite over the in-memory transport: the reference run, no sockets.
import { test } from 'node:test'
import { memoryPair } from '../../src/transport/memory.ts'
import { casesFor, runConformanceCase, type ConformanceTransport } from './suite.ts'

const memory: ConformanceTransport = {
  name: 'memory',
  async start (peer) {
    return {
      async connect () {
        const [ours, theirs] = memoryPair()
        peer.handleConnection(ours, { transport: 'memory', direction: 'incoming', encryption: false })
        return theirs
      },
      async stop () {}
    }
  }
}

for (const kase of casesFor(memory)) {
  test(`memory: ${kase.name}`, () => runConformanceCase(memory, kase))
}
