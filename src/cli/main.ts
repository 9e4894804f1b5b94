/**
 * The torrent-fish command line: a thin shell over the library. `main(argv)` returns the
 * exit code so tests run it in-process; bin/torrent-fish.js calls it for real.
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage (the message names the flag).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { Logger, processOutput, type Output } from './log.ts'
import { integer, hostPort, address, collect } from './parse.ts'
import * as serve from './serve.ts'
import type * as magnet from './magnet.ts'
import type * as trackerCommand from './tracker.ts'
import { addDiscoveryFlags } from './discovery-flags.ts'
import { addSourceFlags, loadPathArg } from './source-flags.ts'
import * as create from './create.ts'
import { httpListenArg, publicUrlArg, intervalArg } from './http-flags.ts'
import type * as example from './example.ts'
import type { TorrentFish } from '../node/torrent-fish.ts'
import { CLIENT_NAME } from '../core/constants.ts'

export interface MainOptions {
  io?: Output
  /** Called with the running service instead of waiting for a signal (tests). */
  onServe?: (fish: TorrentFish) => void
  /** Install SIGINT/SIGTERM handlers (the real CLI); default true. */
  signals?: boolean
}

/** `--ws-tracker`: ws:// or wss:// only, repeatable. */
function wsTrackerArg (value: string, previous: string[] = []): string[] {
  if (!/^wss?:\/\/[^/]/i.test(value)) throw new InvalidArgumentError(`${value} is not a ws:// or wss:// URL`)
  return [...previous, value]
}

const VERSION = CLIENT_NAME.split(' ')[1]

/** Runs the CLI; resolves with the exit code once the command has finished. */
export async function main (argv: string[], options: MainOptions = {}): Promise<number> {
  const io = options.io ?? processOutput
  let result: Promise<number> = Promise.resolve(0)
  const program = new Command()
    .name('torrent-fish')
    .description('A metadata-only BitTorrent peer: answers ut_metadata (BEP 9) requests so magnets backed by web seeds (BEP 19) start.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: s => io.out(s.trimEnd()), writeErr: s => io.err(s.trimEnd()) })
    .showHelpAfterError('(run torrent-fish --help for usage)')
    .enablePositionalOptions()

  program
    .option('-p, --port <port>', 'TCP/uTP port to listen on (0 = any free port)', integer(0, 65535), 6881)
    .option('-i, --listen-interface <address>', 'address to listen on (default: every IPv4 and IPv6 address)', address)
    .option('-o, --outgoing-interface <address>', 'local address for outgoing connections', address)
    .option('-d, --max-download-rate <kB/s>', 'download rate limit in kB/s, 0 = unlimited', integer(0, 10_000_000), 0)
    .option('-u, --max-upload-rate <kB/s>', 'upload rate limit in kB/s, 0 = unlimited', integer(0, 10_000_000), 0)
    .option('-c, --connections_limit <n>', 'maximum open connections', integer(1, 1_000_000), 800)
    .option('-l, --load-path <dir|url>', 'directory of .torrent files (watched), or http(s) URL of a directory listing, RSS/Atom feed or manifest (.txt/.json) (polled); repeatable', loadPathArg)
    .option('-r, --proxy-host <host:port>', 'SOCKS5 proxy for outgoing connections', hostPort)
    .option('--per-ip-limit <n>', 'maximum connections from one IP address', integer(1, 1_000_000), 256)
    .option('--allow-private', 'serve private (BEP 27) torrents too')
    .option('--no-watch', 'do not watch the load path for changes')
    .addOption(new Option('--json', 'log JSON lines instead of text'))
    .option('-v, --verbose', 'log every peer connection and close')
    .option('--http <[host:]port>', 'serve HTTP: /<infohash>.torrent (xs=), /health, /metrics and a status page', httpListenArg)
    .option('--public-url <url>', 'base URL clients reach the HTTP server at; magnets get xs=<url>/<infohash>.torrent', publicUrlArg)
    .addOption(new Option('--admin-token <token>', 'bearer token enabling POST /torrents and DELETE /torrents/<infohash>').env('TORRENT_FISH_ADMIN_TOKEN'))
    .option('--check-web-seeds [interval]', 'check every torrent\'s web seeds each interval (seconds, or 15m, 1h; default 15m)', intervalArg)
    .option('--ws-tracker <url>', 'WebSocket (WebTorrent) tracker to announce every torrent on, for browser peers over WebRTC; repeatable', wsTrackerArg)
    .option('--no-webrtc', 'do not answer WebRTC peers, even with ws:// trackers configured')
    .option('--webrtc-offers <n>', 'WebRTC offers sent with each announce (default 0: answer only)', integer(0, 5), 0)
    .action(async (opts) => {
      const log = new Logger(io, { json: opts.json, verbose: opts.verbose })
      if (opts.publicUrl !== undefined && opts.http === undefined) {
        io.err('torrent-fish: --public-url needs --http (the URL must lead to this HTTP server)')
        result = Promise.resolve(2)
        return
      }
      result = runServe(opts as serve.ServeArgs, log, options)
    })

  addDiscoveryFlags(program)
  addSourceFlags(program)

  program
    .command('create')
    .description('make a .torrent whose web seed (url-list, BEP 19) serves the content, and print its magnet')
    .argument('<path>', 'file or directory to make the torrent of')
    .requiredOption('--web-seed <url>', 'web seed URL, repeatable: the file\'s URL, or a base ending in / (a directory: base URL, clients append <name>/<path>)', collect)
    .option('--tracker <url>', 'add a tracker, repeatable', collect)
    .option('-o, --output <file>', 'where to write the .torrent (default: <name>.torrent)')
    .option('--private', 'set the private flag (BEP 27): trackers only, no DHT or PEX')
    .option('--piece-length <bytes>', 'piece length, a power of two: 262144, 256K, 4M (default: by size)', create.pieceLengthArg)
    .option('--public-url <url>', 'base URL of a torrent-fish HTTP server: the magnet gets xs=', publicUrlArg)
    .option('-f, --force', 'overwrite the output file')
    .option('--progress', 'always show hashing progress (default: for inputs of 64 MiB or more)')
    .option('--no-progress', 'never show hashing progress')
    .action(async (file: string, opts) => {
      result = create.start({ path: file, ...opts }, io, { progressStream: io === processOutput ? process.stderr : undefined })
    })

  program
    .command('magnet')
    .description('print the magnet link that works with torrent-fish for each .torrent file')
    .argument('<files...>', '.torrent files')
    .option('--peer <host:port>', 'add a direct peer address (x.pe), repeatable', (v: string, p: string[]) => collect(hostPort(v), p))
    .option('--tracker <url>', 'add a tracker (tr), repeatable', collect)
    .option('--xs <base-url>', 'base URL serving <infohash>.torrent (xs)')
    .option('--json', 'log JSON lines instead of text')
    .action(async (files: string[], opts) => {
      const log = new Logger(io, { json: opts.json })
      // Subcommands load their modules on use: `serve` should not carry create-torrent or a tracker server.
      result = import('./magnet.ts').then(m => m.start({ files, ...opts } as magnet.MagnetArgs, io, log))
    })

  program
    .command('example')
    .description('offline demo: serve example torrents whose content is on a local web seed, and print their magnets')
    .option('-p, --port <port>', 'metadata peer port (0 = any free port)', integer(0, 65535), 6881)
    .option('--web-seed-port <port>', 'port of the local web seed (0 = any free port)', integer(0, 65535), 0)
    .option('--tracker-port <port>', 'port of the embedded tracker, HTTP/WebSocket and UDP (0 = any free port)', integer(0, 65535), 0)
    .option('--demo-port <port>', 'port of the demo page (0 = any free port)', integer(0, 65535), 0)
    .option('--dir <dir>', 'where to write the example content and torrents (default: a temp dir)')
    .option('--self-test', 'download every example magnet with a WebTorrent client, then exit')
    .option('--json', 'log JSON lines instead of text')
    .option('-v, --verbose', 'log every peer connection and close')
    .action(async (opts) => {
      const log = new Logger(io, { json: opts.json, verbose: opts.verbose })
      result = runExample(opts as example.ExampleArgs, log, options)
    })

  program
    .command('tracker')
    .description('run an HTTP + UDP + WebSocket BitTorrent tracker (no outside service needed)')
    .option('-p, --port <port>', 'HTTP/WebSocket port, and UDP port (0 = any free port)', integer(0, 65535), 8000)
    .option('--host <address>', 'address to listen on (default: every IPv4 address)', address)
    .option('--interval <seconds>', 'announce interval asked of clients', integer(10, 86_400), 600)
    .option('--trust-proxy', 'trust X-Forwarded-For (behind a reverse proxy)')
    .option('--no-stats', 'no /stats page')
    .option('--json', 'log JSON lines instead of text')
    .action(async (opts) => {
      const log = new Logger(io, { json: opts.json })
      result = import('./tracker.ts').then(m => m.run(opts as trackerCommand.TrackerArgs, log, options.signals !== false))
    })

  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0
      return 2
    }
    io.err(`torrent-fish: ${(err as Error).message}`)
    return 1
  }
  return await result
}

async function runServe (args: serve.ServeArgs, log: Logger, options: MainOptions): Promise<number> {
  let fish: TorrentFish
  try {
    fish = await serve.start(args, log)
  } catch (err) {
    log.error('start-failed', (err as Error).message)
    return 1
  }
  return await waitForShutdown(fish, log, options, () => fish.close())
}

/** Serves until SIGINT/SIGTERM (or until embedding code closes the service). */
function waitForShutdown (fish: TorrentFish, log: Logger, options: MainOptions, shutdown: () => Promise<void>): Promise<number> {
  options.onServe?.(fish)
  return new Promise<number>(resolve => {
    const stop = (signal: string): void => {
      log.info('shutdown', `${signal}: closing`)
      shutdown().then(() => resolve(0), err => { log.error('shutdown-failed', (err as Error).message); resolve(1) })
    }
    fish.once('close', () => {
      // close() called by the embedding code (tests) rather than a signal
      setImmediate(() => resolve(0))
    })
    if (options.signals !== false) {
      process.once('SIGINT', () => stop('SIGINT'))
      process.once('SIGTERM', () => stop('SIGTERM'))
    }
  })
}

async function runExample (args: example.ExampleArgs, log: Logger, options: MainOptions): Promise<number> {
  const exampleModule = await import('./example.ts')
  let running: example.RunningExample
  try {
    running = await exampleModule.runExample(args, log)
  } catch (err) {
    log.error('start-failed', (err as Error).message)
    return 1
  }
  if (args.selfTest) {
    const ok = await exampleModule.selfTest(running, log)
    await running.close()
    return ok ? 0 : 1
  }
  return await waitForShutdown(running.fish, log, options, () => running.close())
}
