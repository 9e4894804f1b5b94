/**
 * Builds the magnet that works with a metadata peer: the info hash to ask for, the web
 * seeds (`ws=`, BEP 19) that carry the content once the metadata arrived, trackers (`tr=`)
 * to find us, optional `x.pe=` direct peer addresses and `xs=` pointing at an HTTP copy of
 * the .torrent. Encoding is magnet-uri's.
 */
// magnet-uri's default export is decode only; encode is a named export.
import { encode as encodeMagnet } from 'magnet-uri'
import type { TorrentRecord } from './torrent.ts'

export interface MagnetOptions {
  /** `host:port` addresses of metadata peers, added as `x.pe=` (BEP 9). */
  peerAddresses?: string[]
  /** Trackers to add after the torrent's own. */
  extraTrackers?: string[]
  /** Leave out the torrent's own trackers. */
  omitTorrentTrackers?: boolean
  /** Base URL of an HTTP endpoint serving `<infohash>.torrent`; adds `xs=`. */
  torrentBaseUrl?: string
  /** Leave out `dn` and `xl`. */
  minimal?: boolean
}

function unique (values: string[]): string[] {
  return [...new Set(values.filter(v => v.length > 0))]
}

/** The magnet URI for a loaded torrent. */
export function composeMagnet (record: TorrentRecord, options: MagnetOptions = {}): string {
  const trackers = unique([
    ...(options.omitTorrentTrackers ? [] : record.announce.flat()),
    ...(options.extraTrackers ?? [])
  ])
  const data: Record<string, unknown> = { xt: `urn:btih:${record.infoHash}` }
  if (record.infoHashV2) data.xt = [`urn:btih:${record.infoHashV1 ?? record.infoHash}`, `urn:btmh:1220${record.infoHashV2}`]
  if (!record.infoHashV1 && record.infoHashV2) data.xt = `urn:btmh:1220${record.infoHashV2}`
  if (!options.minimal) {
    data.dn = record.name
    data.xl = String(record.length)
  }
  if (trackers.length > 0) data.tr = trackers
  if (record.urlList.length > 0) data.ws = unique(record.urlList)
  if (options.torrentBaseUrl) data.xs = `${options.torrentBaseUrl.replace(/\/+$/, '')}/${record.infoHash}.torrent`
  if (options.peerAddresses && options.peerAddresses.length > 0) data['x.pe'] = unique(options.peerAddresses)
  return encodeMagnet(data)
}

/** Why a magnet for this torrent would not lead to a download, if it would not. */
export function magnetWarnings (record: TorrentRecord): string[] {
  const out: string[] = []
  if (record.urlList.length === 0) {
    out.push(`${record.name} (${record.infoHash}) has no web seed (url-list): metadata alone starts no download unless other peers hold the pieces`)
  }
  if (record.private) out.push(`${record.name} (${record.infoHash}) is private (BEP 27): clients will use its trackers only`)
  return out
}
