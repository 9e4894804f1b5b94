/**
 * The memory transport in the transport contract: `dial()` connects the session to an
 * in-process peer (`accept` gets the other end), and `connect()` gives a test the far end of a
 * new incoming connection. No sockets: the reference transport of the conformance suite.
 */
import type { Duplex } from 'streamx'
import type { PeerConnection } from '../core/peer-connection.ts'
import { memoryPair } from './memory.ts'
import { TransportUnavailableError, type ConnectionSink, type DialAddress, type DialOptions, type Transport } from './transport.ts'
import type { ListeningAddress } from '../util/parts.ts'

export class MemoryTransport implements Transport {
  readonly name = 'memory'
  private readonly session: ConnectionSink
  private readonly accept: ((stream: Duplex, address: DialAddress) => void) | undefined
  private closedFlag = false
  private readonly open = new Set<Duplex>()

  /** `accept` plays the remote side of dials (a test leecher); without it the transport only accepts. */
  constructor (session: ConnectionSink, accept?: (stream: Duplex, address: DialAddress) => void) {
    this.session = session
    this.accept = accept
  }

  async start (): Promise<void> {}

  listening (): ListeningAddress[] {
    return this.closedFlag ? [] : [{ name: 'memory', address: 'memory', port: 0 }]
  }

  canDial (): boolean { return this.accept !== undefined && !this.closedFlag }

  /** An incoming connection: the session gets one end, the caller the other. */
  connect (): Duplex {
    const [ours, theirs] = memoryPair()
    this.track(ours)
    this.session.handleConnection(ours, { transport: 'memory', direction: 'incoming', encryption: false })
    return theirs
  }

  async dial (address: DialAddress, options: DialOptions = {}): Promise<PeerConnection> {
    if (options.signal?.aborted) throw options.signal.reason
    if (!this.accept || this.closedFlag) throw new TransportUnavailableError('memory', 'nobody to dial')
    const [ours, theirs] = memoryPair()
    this.track(ours)
    this.accept(theirs, address)
    return this.session.handleConnection(ours, { transport: 'memory', direction: 'outgoing', infoHash: address.infoHash, encryption: false })
  }

  private track (end: Duplex): void {
    this.open.add(end)
    end.once('close', () => this.open.delete(end))
  }

  async close (): Promise<void> {
    this.closedFlag = true
    for (const end of [...this.open]) end.destroy()
  }
}
