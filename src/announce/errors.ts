/**
 * Errors of announcing. Each has a stable `code`; announce failures say whether the tracker
 * could not be reached (counts against the tracker as a whole) or answered with a refusal for
 * one torrent (counts against that torrent only). Isomorphic.
 */
import { TorrentFishError } from '../core/errors.ts'

/** The tracker did not answer, timed out, or answered something that is not a tracker response. */
export class TrackerUnreachableError extends TorrentFishError {
  readonly url: string
  constructor (url: string, message: string, options?: { cause?: unknown }) {
    super('ERR_TRACKER_UNREACHABLE', `${url}: ${message}`, options)
    this.name = 'TrackerUnreachableError'
    this.url = url
  }
}

/** The tracker answered with a `failure reason` (e.g. torrent not registered). */
export class TrackerRefusedError extends TorrentFishError {
  readonly url: string
  readonly reason: string
  constructor (url: string, reason: string) {
    super('ERR_TRACKER_FAILURE', `${url} refused the announce: ${reason}`)
    this.name = 'TrackerRefusedError'
    this.url = url
    this.reason = reason
  }
}

/** The tracker answered, but not with a valid response (HTTP error page, bad bencode, short UDP packet). */
export class TrackerBadResponseError extends TorrentFishError {
  readonly url: string
  constructor (url: string, message: string) {
    super('ERR_TRACKER_BAD_RESPONSE', `${url} answered with an invalid response: ${message}`)
    this.name = 'TrackerBadResponseError'
    this.url = url
  }
}

/** An announce URL torrent-fish cannot use (bad syntax, unsupported scheme). */
export class UnsupportedTrackerError extends TorrentFishError {
  readonly url: string
  constructor (url: string, message: string) {
    super('ERR_TRACKER_UNSUPPORTED', `${url}: ${message}`)
    this.name = 'UnsupportedTrackerError'
    this.url = url
  }
}
