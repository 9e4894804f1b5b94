/**
 * The HTTP face's options: the type, ONE defaults object and the validator. Apart from
 * server.ts so the service checks them at construction without loading node:http.
 */
import { MAX_TORRENT_FILE_SIZE } from '../core/constants.ts'
import { InvalidOptionError } from '../core/errors.ts'
import type { DiscoverySource } from './discovery-view.ts'
import type { HeaderGateOptions } from './header-gate.ts'
import { resolveOptions, integerIn, isBoolean, isString, type Check, type OptionSpec } from '../util/options.ts'

export interface HttpOptions {
  /** Port; 0 picks a free one. */
  port: number
  /** Address to listen on; default every IPv4 and IPv6 address. */
  host?: string
  /**
   * Base URL at which clients reach this server (e.g. https://seed.example.org/tf). Magnets
   * shown on the status page get `xs=<publicUrl>/<infohash>.torrent`; its path is also
   * accepted as a prefix on requests, for reverse proxies that keep it.
   */
  publicUrl?: string
  /** Bearer token for POST/DELETE /torrents; without it those routes do not exist. */
  token?: string
  /** Largest accepted POST body; default the .torrent size cap (16 MiB). */
  maxBodyBytes?: number
  /** Torrents per status page; default 50. */
  pageSize?: number
  /** Discovery state for /health and /metrics; default: read from the service if present. */
  discovery?: DiscoverySource
  /** Export Node process metrics too; default true. */
  processMetrics?: boolean
  /**
   * The first stage for connections still sending their request headers (header-gate.ts):
   * caps, eviction and deadlines, or false to let node:http take every connection at once.
   */
  headerGate?: Partial<HeaderGateOptions> | false
  /**
   * A connection on which nothing moved either way for this long is closed: a client that
   * stopped reading a reply holds it, and the bytes of the reply, until then.
   */
  idleTimeoutMs?: number
}

/** Defaults of {@link HttpOptions}, each with its reason (`port` has none: it must be chosen). */
export const HTTP_DEFAULTS = {
  /** A POST body is one .torrent file: the same cap the loader applies to files on disk. */
  maxBodyBytes: MAX_TORRENT_FILE_SIZE,
  /** One screen of rows; keeps a page with 100k torrents cheap to render. */
  pageSize: 50,
  /** A standalone service wants heap/GC/event-loop figures next to its own; libraries can turn them off. */
  processMetrics: true,
  /**
   * node:http has no such timeout (its default is none). 30 s, its requestTimeout here: a
   * real client reads a .torrent in well under that, and a stalled one gives its reply back.
   */
  idleTimeoutMs: 30_000
}

/** Shortest admin token: anything shorter is guessable over a network. */
export const MIN_TOKEN_LENGTH = 8

const publicUrl: Check = v => {
  if (typeof v !== 'string') return 'must be an http(s) URL'
  let url: URL
  try { url = new URL(v) } catch { return 'must be an http(s) URL' }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be http(s)'
  if (url.search || url.hash) return 'must not have a query or fragment'
  return undefined
}

const SPEC: OptionSpec<Required<HttpOptions>> = {
  port: integerIn(0, 65535),
  host: isString,
  publicUrl,
  token: v => typeof v === 'string' && v.length >= MIN_TOKEN_LENGTH ? undefined : `must be a string of at least ${MIN_TOKEN_LENGTH} characters`,
  maxBodyBytes: integerIn(1, 1 << 30),
  pageSize: integerIn(1, 10_000),
  discovery: v => typeof v === 'object' && v !== null ? undefined : 'must be a discovery source',
  processMetrics: isBoolean,
  idleTimeoutMs: integerIn(1, 3_600_000),
  // Its fields are checked by header-gate.ts when the face starts.
  headerGate: v => v === false || (typeof v === 'object' && v !== null) ? undefined : 'must be false or an object of header gate options'
}

/** HTTP options with their defaults filled in. */
export type ResolvedHttpOptions = HttpOptions & typeof HTTP_DEFAULTS

/** Checks HTTP options; unknown names and bad values throw InvalidOptionError (`http.x`). */
export function resolveHttpOptions (options: HttpOptions): ResolvedHttpOptions {
  const o = resolveOptions('http', HTTP_DEFAULTS as Required<HttpOptions>, SPEC, options as unknown as Record<string, unknown>) as ResolvedHttpOptions
  if (o.port === undefined) throw new InvalidOptionError('http.port', 'is required (0 picks a free port)')
  return o
}
