/** Errors of torrent sources; each names the URL (or path) at fault. */
import { TorrentFishError } from '../core/errors.ts'

export class SourceError extends TorrentFishError {
  readonly url: string
  constructor (code: string, url: string, message: string, options?: { cause?: unknown }) {
    super(code, `${url}: ${message}`, options)
    this.name = 'SourceError'
    this.url = url
  }
}
