/**
 * Starts what a listening Node torrent-fish adds to TCP: uTP on the same port number, then
 * discovery (trackers, DHT, LSD, outgoing connections, embedded tracker). Each registers with
 * the service so it reports itself in `listening()` and stops on `close()`.
 */
import type { TorrentFish } from '../node/torrent-fish.ts'
import { listenUtp, utpLoadError, type UtpListener } from '../transport/utp.ts'
import { Discovery } from './discovery.ts'

/** utp-native failing to load is said once per process, not once per service. */
let utpWarned = false

export async function attachNetworking (fish: TorrentFish): Promise<{ utp: UtpListener | null, discovery: Discovery | null }> {
  let utp: UtpListener | null = null
  if (fish.options.utp !== false && fish.port > 0) {
    try {
      utp = await listenUtp(fish, { port: fish.port, host: fish.options.listenInterface })
      const u = utp
      fish.register(() => u.close(), () => [{ name: 'utp', address: u.host, port: u.port }])
    } catch (err) {
      const missing = utpLoadError() !== null
      if (!missing || !utpWarned) fish.warnError(err, 'utp')
      if (missing) utpWarned = true
      utp = null
    }
  }
  let discovery: Discovery | null = null
  if (fish.options.discovery !== false) {
    discovery = new Discovery(fish, fish.options.discovery ?? {}, utp)
    const d = discovery
    // Registered after uTP, so it closes first (closers run in reverse) while uTP can still carry nothing it needs.
    fish.register(() => d.close(), () => d.listening())
    await discovery.start()
  }
  return { utp, discovery }
}
