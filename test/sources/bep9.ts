/**
 * Fetches a torrent's info dict from a metadata peer over TCP the way a leecher does: a real
 * bittorrent-protocol Wire with ut_metadata (BEP 9), which checks the SHA-1 of what arrives.
 */
import net from 'node:net'
import { createHash } from 'node:crypto'
import { startLeecher } from '../fixtures/leecher.ts'
import { infoBytesOf } from '../fixtures/torrents.ts'
import type { ByteStream } from '../../src/index.ts'

export async function fetchInfoDict (port: number, infoHash: string, timeoutMs = 15_000): Promise<Uint8Array> {
  const socket = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const leecher = startLeecher(socket as unknown as ByteStream, infoHash)
  try {
    const torrent = await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no metadata for ${infoHash} from port ${port} within ${timeoutMs} ms`)), timeoutMs)
      void leecher.closed.then(() => { clearTimeout(timer); reject(new Error(`port ${port} closed the connection for ${infoHash} before the metadata`)) })
      const ext = (leecher.wire as any).ut_metadata
      ext.once('metadata', (t: Uint8Array) => { clearTimeout(timer); resolve(t) })
      ext.fetch()
    })
    const info = await infoBytesOf(torrent)
    if (createHash('sha1').update(info).digest('hex') !== infoHash) throw new Error(`metadata for ${infoHash} does not hash to it`)
    return info
  } finally {
    leecher.destroy()
    socket.destroy()
  }
}
