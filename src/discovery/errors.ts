/**
 * Errors of discovery: the tracker errors live in the announce room, the transport error in
 * the transport room; re-exported here for existing imports. Each has a stable `code`.
 */
import { TorrentFishError } from '../core/errors.ts'

export { TrackerUnreachableError, TrackerRefusedError, TrackerBadResponseError, UnsupportedTrackerError } from '../announce/errors.ts'
export { TransportUnavailableError } from '../transport/transport.ts'

/** The DHT node could not start or announce. */
export class DhtError extends TorrentFishError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_DHT', message, options)
    this.name = 'DhtError'
  }
}
