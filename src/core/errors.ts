/**
 * Error classes, each with a stable `code` so callers and logs can branch on it
 * without matching message text.
 */

export class TorrentFishError extends Error {
  readonly code: string
  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TorrentFishError'
    this.code = code
  }
}

/** A .torrent that cannot be parsed or breaks a rule; `source` names the culprit. */
export class InvalidTorrentError extends TorrentFishError {
  readonly source: string | undefined
  constructor (message: string, source?: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_TORRENT', source ? `${source}: ${message}` : message, options)
    this.name = 'InvalidTorrentError'
    this.source = source
  }
}

/** A torrent with this info hash is already loaded. */
export class DuplicateTorrentError extends TorrentFishError {
  readonly infoHash: string
  constructor (infoHash: string, existing: string | undefined, source?: string) {
    super('ERR_DUPLICATE_TORRENT',
      `${source ?? 'torrent'}: info hash ${infoHash} is already loaded${existing ? ` from ${existing}` : ''}`)
    this.name = 'DuplicateTorrentError'
    this.infoHash = infoHash
  }
}

/** An option given to the library or the CLI is out of range or malformed. */
export class InvalidOptionError extends TorrentFishError {
  readonly option: string
  constructor (option: string, message: string) {
    super('ERR_INVALID_OPTION', `${option}: ${message}`)
    this.name = 'InvalidOptionError'
    this.option = option
  }
}

/** The peer was used after close(). */
export class ClosedError extends TorrentFishError {
  constructor () {
    super('ERR_CLOSED', 'torrent-fish is closed')
    this.name = 'ClosedError'
  }
}
