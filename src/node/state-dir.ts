/**
 * Where the CLI keeps state across restarts (the DHT node id and routing table), as the
 * original torrent-fish does. Its own small module so that `torrent-fish --help` and flag
 * parsing load no discovery library.
 */
import os from 'node:os'
import path from 'node:path'

/** The default place for state: $XDG_STATE_HOME/torrent-fish or ~/.local/state/torrent-fish. */
export function defaultStateDir (): string {
  const base = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state')
  return path.join(base, 'torrent-fish')
}
