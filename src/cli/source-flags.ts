/**
 * Flags for torrent sources and shards: repeatable `-l` (directories and http(s) URLs of
 * listings, feeds and manifests), `--poll-interval`, `--shard K/N`, and the politeness limits
 * toward a source's server. Maps them to the library's `loadPath` / `sources` options.
 */
import { InvalidArgumentError, type Command } from 'commander'
import { integer } from './parse.ts'
import { intervalArg } from './http-flags.ts'
import { parseShard, type Shard } from '../sources/shard.ts'
import { GATE_DEFAULTS } from '../sources/gate.ts'
import type { TorrentFishOptions } from '../node/torrent-fish.ts'

export interface SourceArgs {
  loadPath?: string | string[]
  pollInterval?: number
  shard?: Shard
  sourceRate?: number
  sourceConcurrency?: number
}

/** `-l`: repeatable; a directory or an http(s) URL. */
export function loadPathArg (value: string, previous: string[] | string | undefined): string[] {
  if (value.trim() === '') throw new InvalidArgumentError('expected a directory or an http(s) URL.')
  const list = previous === undefined ? [] : Array.isArray(previous) ? previous : [previous]
  return [...list, value.trim()]
}

function shardArg (value: string): Shard {
  try { return parseShard(value, '--shard') } catch (err) { throw new InvalidArgumentError((err as Error).message.replace(/^--shard: /, '') + '.') }
}

export function addSourceFlags (program: Command): Command {
  return program
    .option('--poll-interval <interval>', 'how often remote sources (-l http(s)://...) are polled: seconds, or 90s, 5m, 1h (default 5m)', intervalArg)
    .option('--shard <K/N>', 'serve and announce only shard K of N (rendezvous hashing over info hashes)', shardArg)
    .option('--source-rate <n>', 'requests started per second to one remote server (origin), at most', integer(1, 100_000), GATE_DEFAULTS.rate)
    .option('--source-concurrency <n>', 'requests in flight to one remote server (origin), at most', integer(1, 1000), GATE_DEFAULTS.concurrency)
}

/** `loadPath` for one plain directory (the original behaviour), `sources` for anything more. */
export function sourceOptions (args: SourceArgs): Pick<TorrentFishOptions, 'loadPath' | 'sources'> {
  const list = args.loadPath === undefined ? [] : Array.isArray(args.loadPath) ? args.loadPath : [args.loadPath]
  const remote = list.some(l => /^https?:\/\//i.test(l))
  if (list.length <= 1 && !remote && args.shard === undefined) return { loadPath: list[0] }
  return {
    sources: {
      locations: list,
      ...(args.shard ? { shard: args.shard } : {}),
      ...(args.pollInterval !== undefined ? { pollIntervalMs: args.pollInterval * 1000 } : {}),
      ...(args.sourceRate !== undefined ? { rate: args.sourceRate } : {}),
      ...(args.sourceConcurrency !== undefined ? { concurrency: args.sourceConcurrency } : {})
    }
  }
}
