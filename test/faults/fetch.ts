/**
 * One real metadata exchange over TCP with the ut_metadata package (which checks the SHA-1 of
 * what it receives against the info hash): proof that a torrent is served, not just listed.
 */
import net from 'node:net'
import { once } from 'node:events'
import { startLeecher } from '../fixtures/leecher.ts'

/** Fetches the metadata of `infoHash` from 127.0.0.1:`port`; resolves with the torrent bytes ut_metadata builds. */
export async function fetchMetadata (port: number, infoHash: string): Promise<Uint8Array> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const leecher = startLeecher(socket, infoHash)
  const ext = (leecher.wire as any).ut_metadata
  try {
    return await new Promise<Uint8Array>((resolve, reject) => {
      ext.once('metadata', resolve)
      ext.once('warning', (err: Error) => reject(err))
      void leecher.closed.then(() => reject(new Error(`closed before the metadata of ${infoHash} arrived`)))
      ext.fetch()
    })
  } finally {
    leecher.destroy()
  }
}
