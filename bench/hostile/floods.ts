/**
 * Every flood of the hostile bench: which generator module runs it, what it does, and its
 * knobs (full and --quick). `limit` is the peer's connection limit (-c), so "10x the limit"
 * follows it.
 */
import type { PeerName } from './peers.ts'

export interface FloodSpec {
  name: string
  /** Generator module in bench/hostile/. */
  module: string
  /** One line for the report and docs. */
  what: string
  /** Peers it applies to (default both). */
  peers?: PeerName[]
  /** torrent-fish must run its HTTP face (`--http`). */
  http?: boolean
  params: (limit: number, quick: boolean) => Record<string, number>
}

/** Flood connections come from this many 127.x.y.z addresses, 4 per /24. */
const SOURCES = { sources: 1000, perSubnet: 4 }

export const FLOODS: FloodSpec[] = [
  {
    name: 'silent',
    module: './silent.ts',
    what: '10x the connection limit of connections that send nothing, re-opened ~1 s after each close',
    params: limit => ({ ...SOURCES, connections: 10 * limit, reopenMs: 1000 })
  },
  {
    name: 'drip',
    module: './drip.ts',
    what: '10x the connection limit of connections dripping a valid handshake 1 byte every 2 s, re-opened ~1 s after each close',
    params: limit => ({ ...SOURCES, connections: 10 * limit, reopenMs: 1000, dripMs: 2000 })
  },
  {
    name: 'handshake',
    module: './handshake-flood.ts',
    what: 'up to 40,000 connections at 4,000/s, each a valid handshake + extended handshake, then idle (at most 4,000 open or connecting at once; the rest are skipped and counted)',
    params: (_limit, quick) => ({ ...SOURCES, connections: quick ? 12_000 : 40_000, maxOpen: 4000 })
  },
  {
    name: 'oversize',
    module: './oversize.ts',
    what: '64 connections in a loop: valid handshakes, then a length prefix of 256 KiB+1 .. 4 GiB',
    params: () => ({ ...SOURCES, concurrent: 64, holdMs: 2000 })
  },
  {
    name: 'bad-ut-metadata',
    module: './bad-ut-metadata.ts',
    what: 'extended handshake with ut_metadata 0 / {} / [] / a second one setting 0, then a ut_metadata request',
    params: () => ({ ...SOURCES, concurrent: 8, reopenMs: 100, holdMs: 1000 })
  },
  {
    name: 'fuzz',
    module: './fuzz.ts',
    what: '32 connections in a loop: valid handshake, then 32 mutated messages each',
    params: () => ({ ...SOURCES, concurrent: 32, messagesPerConn: 32, holdMs: 300 })
  },
  {
    name: 'mse',
    module: './mse-garbage.ts',
    what: '100 connections/s opening with 96-608 random bytes (an MSE handshake to the peer)',
    params: () => ({ ...SOURCES, rate: 100, maxOpen: 500, holdMs: 2000 })
  },
  {
    name: 'udp',
    module: './udp-garbage.ts',
    what: '10,000 datagrams/s to the port, half crafted uTP SYNs, half random bytes, from 64 addresses',
    params: () => ({ rate: 10_000, sockets: 64, syns: 50_000 })
  },
  {
    name: 'http-slow',
    module: './http-slow.ts',
    what: '2,000 HTTP requests sending one header byte every 2 s, never ending the headers (against --http)',
    peers: ['torrent-fish'],
    http: true,
    params: limit => ({ ...SOURCES, connections: 10 * limit, reopenMs: 1000, dripMs: 2000 })
  },
  {
    name: 'http-idle',
    module: './http-idle.ts',
    what: '2,000 HTTP connections that send one whole keep-alive request, read the reply and sit idle (against --http)',
    peers: ['torrent-fish'],
    http: true,
    params: limit => ({ ...SOURCES, connections: 10 * limit, reopenMs: 1000 })
  }
]
