/**
 * The DHT decodes every UDP datagram with its own bencode copy (k-rpc-socket pins bencode
 * 2.x), which loops forever on a negative string length like the shared one does; see
 * src/core/bencode-guard.ts. This guards that copy: the module instance k-rpc-socket
 * loads, found the way Node resolves it from k-rpc-socket's own directory.
 */
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { guardDecoder } from '../core/bencode-guard.ts'

let done = false

/** Guards the decoder the DHT's k-rpc-socket uses. Idempotent; throws if its shape changed. */
export function installDhtBencodeGuard (): void {
  if (done) return
  // bittorrent-dht -> k-rpc -> k-rpc-socket -> bencode, each resolved from its dependent's
  // directory, so a nested copy is found wherever npm put it.
  const dht = createRequire(fileURLToPath(import.meta.resolve('bittorrent-dht')))
  const krpc = createRequire(dht.resolve('k-rpc'))
  const socket = createRequire(krpc.resolve('k-rpc-socket'))
  guardDecoder(socket('bencode').decode)
  done = true
}
