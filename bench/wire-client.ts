/**
 * The load generator's standard leecher: bittorrent-protocol's Wire with the ut_metadata
 * package over a raw TCP socket, the same pieces WebTorrent uses. ut_metadata verifies the
 * SHA-1 itself and emits `metadata` only when it matches the handshake's info hash.
 */
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
import utMetadata from 'ut_metadata'
import { ExchangeError, type FetchOptions } from './bep9-client.ts'

export function fetchMetadataWire (options: FetchOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host, port: options.port, noDelay: true })
    const wire = new Wire()
    let settled = false
    const finish = (err: Error | null, size = 0): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      wire.destroy()
      socket.destroy()
      if (err) reject(err)
      else resolve(size)
    }
    const timer = setTimeout(() => finish(new ExchangeError('timeout', `no metadata within ${options.timeoutMs} ms`)), options.timeoutMs)
    socket.on('error', err => finish(new ExchangeError('socket', err.message)))
    socket.on('close', () => finish(new ExchangeError('closed', 'peer closed before the metadata was complete')))
    socket.pipe(wire as any).pipe(socket as any)
    wire.use(utMetadata())
    const ext = (wire as any).ut_metadata
    ext.on('warning', (err: Error) => finish(new ExchangeError('ut-metadata', err.message)))
    ext.on('metadata', () => finish(null, ext.metadata.length))
    ext.fetch()
    const peerId = randomBytes(20)
    peerId.write('-TB0001-', 0, 'latin1')
    wire.handshake(options.infoHash, peerId, { dht: false })
  })
}
