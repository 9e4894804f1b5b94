/**
 * The one place torrent-fish overrides a bittorrent-lsd internal (pinned to an exact version;
 * test/adapters/contracts.test.ts fails loudly when an upgrade changes it).
 *
 * Why: its parser drops only datagrams carrying the instance's own cookie; a metadata-only
 * peer must drop every torrent-fish's (dialing another metadata-only peer serves nobody), and
 * the package offers no option for it.
 */
import { TorrentFishError } from '../core/errors.ts'

interface ParsedAnnounce { cookie?: unknown }

/** Makes the instance drop announces whose cookie `drop` matches. */
export function dropAnnounces (lsd: unknown, drop: (cookie: string) => boolean): void {
  const target = lsd as { _parseAnnounce?: (text: string) => ParsedAnnounce | null }
  const parse = target._parseAnnounce
  if (typeof parse !== 'function') throw new TorrentFishError('ERR_ADAPTER', 'bittorrent-lsd: _parseAnnounce is not where this adapter expects it')
  const bound = parse.bind(lsd)
  target._parseAnnounce = (text: string) => {
    const parsed = bound(text)
    return parsed && typeof parsed.cookie === 'string' && drop(parsed.cookie) ? null : parsed
  }
}
