/**
 * Counters per torrent and per transport. Per-torrent counters are created on first use so
 * 100k idle torrents cost one Map lookup, not 100k objects.
 */

export interface TorrentCounters {
  /** Connections open now. */
  peers: number
  /** Connections accepted since start. */
  connections: number
  /** ut_metadata data messages sent. */
  metadataPiecesServed: number
  /** Connections that received every metadata piece. */
  metadataServed: number
  /** ut_metadata rejects sent (invalid piece indexes). */
  metadataRejects: number
  /** BitTorrent piece requests refused (we never send pieces). */
  pieceRequestsRefused: number
  /** Metadata payload bytes sent. */
  bytesServed: number
}

export interface TransportCounters {
  peers: number
  connections: number
  metadataServed: number
  closes: Record<string, number>
}

export interface StatsSnapshot {
  torrents: number
  peers: number
  connections: number
  metadataPiecesServed: number
  metadataServed: number
  metadataRejects: number
  pieceRequestsRefused: number
  bytesServed: number
  byTransport: Record<string, TransportCounters>
  closesByReason: Record<string, number>
}

function emptyTorrent (): TorrentCounters {
  return { peers: 0, connections: 0, metadataPiecesServed: 0, metadataServed: 0, metadataRejects: 0, pieceRequestsRefused: 0, bytesServed: 0 }
}

export class Stats {
  private readonly torrents = new Map<string, TorrentCounters>()
  private readonly transports = new Map<string, TransportCounters>()
  private readonly closes = new Map<string, number>()
  private readonly totals = emptyTorrent()

  torrent (infoHash: string): TorrentCounters {
    let c = this.torrents.get(infoHash)
    if (!c) { c = emptyTorrent(); this.torrents.set(infoHash, c) }
    return c
  }

  /** Read-only view; zeros for a torrent never touched. */
  peekTorrent (infoHash: string): TorrentCounters {
    return { ...(this.torrents.get(infoHash) ?? emptyTorrent()) }
  }

  transport (name: string): TransportCounters {
    let c = this.transports.get(name)
    if (!c) { c = { peers: 0, connections: 0, metadataServed: 0, closes: {} }; this.transports.set(name, c) }
    return c
  }

  forget (infoHash: string): void { this.torrents.delete(infoHash) }

  /** Adds `n` to a per-torrent counter and the totals. */
  count (infoHash: string, key: keyof TorrentCounters, n = 1): void {
    this.torrent(infoHash)[key] += n
    this.totals[key] += n
  }

  /** {@link count} on counters already looked up (a connection keeps its torrent's). */
  add (counters: TorrentCounters, key: keyof TorrentCounters, n = 1): void {
    counters[key] += n
    this.totals[key] += n
  }

  /** Exchanges served everything so far, by transport (cumulative). */
  servedByTransport (): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [name, c] of this.transports) out[name] = c.metadataServed
    return out
  }

  close (transport: string, reason: string): void {
    const t = this.transport(transport)
    t.closes[reason] = (t.closes[reason] ?? 0) + 1
    this.closes.set(reason, (this.closes.get(reason) ?? 0) + 1)
  }

  snapshot (torrentCount: number): StatsSnapshot {
    const byTransport: Record<string, TransportCounters> = {}
    for (const [name, c] of this.transports) byTransport[name] = { ...c, closes: { ...c.closes } }
    return {
      torrents: torrentCount,
      ...this.totals,
      byTransport,
      closesByReason: Object.fromEntries(this.closes)
    }
  }
}
