/**
 * The one place torrent-fish reads bittorrent-dht's internals (pinned to an exact version;
 * test/adapters/contracts.test.ts fails loudly when an upgrade changes them).
 *
 * Why: the public `toJSON()` drops node ids, and nodes saved with their ids go straight back
 * into the routing table on the next start; the node count for /metrics would otherwise cost
 * a copy of the table per scrape. Both come from the k-rpc routing table, `dht._rpc.nodes`.
 */
import { TorrentFishError } from '../core/errors.ts'

/** A node of the routing table as k-bucket keeps it. */
export interface RoutingNode {
  host: string
  port: number
  id?: Uint8Array | string
}

interface RoutingTable {
  count (): number
  toArray (): RoutingNode[]
}

function table (dht: unknown): RoutingTable {
  const nodes = (dht as { _rpc?: { nodes?: RoutingTable } })._rpc?.nodes
  if (!nodes || typeof nodes.count !== 'function' || typeof nodes.toArray !== 'function') {
    throw new TorrentFishError('ERR_ADAPTER', 'bittorrent-dht: the routing table (_rpc.nodes) is not where this adapter expects it')
  }
  return nodes
}

/** Nodes in the routing table. */
export function routingTableSize (dht: unknown): number {
  return table(dht).count()
}

/** The routing table's nodes, with their ids. */
export function routingTableNodes (dht: unknown): RoutingNode[] {
  return table(dht).toArray()
}
