/**
 * The torrent-fish command line: a thin shell over the library. `main(argv)` returns the
 * exit code so tests run it in-process; bin/torrent-fish.js calls it for real.
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage (the message names the flag).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { Logger, LEVELS, processOutput, type Output } from './log.ts'
import { applyEnv, envHelp, EnvUsageError } from './env.ts'
import { integer, hostPort, address, collect, byteSize } from './parse.ts'
import * as serve from './serve.ts'
import type * as magnet from './magnet.ts'
import type * as trackerCommand from './tracker.ts'
import { addDiscoveryFlags } from './discovery-flags.ts'
import { addSourceFlags, loadPathArg } from './source-flags.ts'
import * as create from './create.ts'
import { httpListenArg, publicUrlArg, intervalArg } from './http-flags.ts'
import type * as example from './example.ts'
import type { TorrentFish } from '../node/torrent-fish.ts'
import { CLIENT_NAME, DEFAULT_CONNECTION_LIMIT, DEFAULT_PER_IP_LIMIT } from '../core/constants.ts'
import { SERVICE_DEFAULTS } from '../node/service-options.ts'
import { WEB_SEED_HEALTH_DEFAULTS } from '../node/web-seed-health.ts'
import { WEBRTC_POOL_DEFAULTS } from '../transport/webrtc-answer-pool.ts'
import { EMBEDDED_TRACKER_DEFAULT_PORT } from '../discovery/embedded-tracker.ts'

export interface MainOptions {
  io?: Output
  /** Called with the running service instead of waiting for a signal (tests). */
  onServe?: (fish: TorrentFish) => void
  /** Install SIGINT/SIGTERM handlers (the real CLI); default true. */
  signals?: boolean
  /** Where `TORRENT_FISH_*` variables are read from; default process.env. */
  env?: Record<string, string | undefined>
}

/** A usage error of ours (not commander's): exit 2, said as a JSON line under --json. */
class UsageError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.code = code
  }
}

/** commander's `commander.unknownOption` -> `ERR_UNKNOWN_OPTION`: one code style in JSON lines. */
function usageCode (commanderCode: string): string {
  return 'ERR_' + commanderCode.replace(/^commander\./, '').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
}

/** The log options every command shares (`--json`, `-v`, `--quiet`, `--log-level`). */
function loggerFor (io: Output, opts: { json?: boolean, verbose?: boolean, quiet?: boolean, logLevel?: string }): Logger {
  return new Logger(io, { json: opts.json, verbose: opts.verbose, quiet: opts.quiet, level: opts.logLevel as Logger['level'] | undefined })
}

const logLevelOption = (): Option => new Option('--log-level <level>', 'print this level and more severe ones only (default info)').choices(LEVELS)
const quietOption = (): Option => new Option('-q, --quiet', 'print warnings and errors only (the same as --log-level warn)').conflicts(['verbose', 'logLevel'])

/**
 * Whether the serve flags give torrent-fish anything to serve: a load path (`-l`), or the
 * HTTP admin routes that add torrents (`--http` with `--admin-token`). Without one it would
 * run forever serving nothing, which is always a mistake.
 */
export function hasTorrentSource (opts: { loadPath?: unknown, http?: unknown, adminToken?: unknown }): boolean {
  return Boolean(opts.loadPath) || (opts.http !== undefined && Boolean(opts.adminToken))
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
  const env = options.env ?? process.env
  // Known before parsing, so that a usage error is a JSON line too.
  const json = argv.includes('--json') || /^(1|true|yes|on)$/i.test(env.TORRENT_FISH_JSON ?? '')
  let result: Promise<number> = Promise.resolve(0)
  const program = new Command()
    .name('torrent-fish')
    .description('A metadata-only BitTorrent peer: answers ut_metadata (BEP 9) requests so magnets backed by web seeds (BEP 19) start.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: s => io.out(s.trimEnd()), writeErr: s => { if (!json) io.err(s.trimEnd()) } })
    .showHelpAfterError(!json && '(run torrent-fish --help for usage)')
    .enablePositionalOptions()

  program
    .option('-p, --port <port>', 'TCP/uTP port to listen on (0 = any free port)', integer(0, 65535), SERVICE_DEFAULTS.port)
    .option('-i, --listen-interface <address>', 'address to listen on (default: every IPv4 and IPv6 address)', address)
    .option('-o, --outgoing-interface <address>', 'local address for outgoing connections', address)
    .option('-d, --max-download-rate <kB/s>', 'download rate limit in kB/s, 0 = unlimited', integer(0, 10_000_000), 0)
    .option('-u, --max-upload-rate <kB/s>', 'upload rate limit in kB/s, 0 = unlimited', integer(0, 10_000_000), 0)
    .option('-c, --connections_limit <n>', 'maximum open connections', integer(1, 1_000_000), DEFAULT_CONNECTION_LIMIT)
    .option('-l, --load-path <dir>', 'directory of .torrent files (watched), or an http(s) URL of a directory listing, RSS/Atom feed or manifest (.txt/.json) (polled); repeatable; required unless --http with --admin-token adds torrents', loadPathArg)
    .option('-r, --proxy-host <host:port>', 'SOCKS5 proxy for outgoing connections', hostPort)
    .option('--per-ip-limit <n>', 'maximum connections from one IP address', integer(1, 1_000_000), DEFAULT_PER_IP_LIMIT)
    .option('--allow-private', 'serve private (BEP 27) torrents too')
    .option('--no-watch', 'do not watch the load path for changes')
    .option('--cache-size <size>', 'memory for info dicts read back from .torrent files: 32M, 512K, 1G (default 32M, sized for a 256 MiB machine)', byteSize)
    .addOption(new Option('--json', 'log JSON lines instead of text'))
    .option('-v, --verbose', 'log every peer connection and close (the same as --log-level debug)')
    .addOption(quietOption())
    .addOption(logLevelOption())
    .option('--http <[host:]port>', 'serve HTTP: /<infohash>.torrent (xs=), /health, /metrics and a status page', httpListenArg)
    .option('--public-url <url>', 'base URL clients reach the HTTP server at; magnets get xs=<url>/<infohash>.torrent', publicUrlArg)
    .addOption(new Option('--admin-token <token>', 'bearer token enabling POST /torrents and DELETE /torrents/<infohash> (better from TORRENT_FISH_ADMIN_TOKEN: a flag is visible in ps)'))
    .option('--check-web-seeds [interval]', `check every torrent's web seeds each interval (seconds, or 15m, 1h; default ${WEB_SEED_HEALTH_DEFAULTS.intervalMs / 60_000}m)`, intervalArg)
    .option('--ws-tracker <url>', 'WebSocket (WebTorrent) tracker to announce every torrent on, for browser peers over WebRTC; repeatable', wsTrackerArg)
    .option('--no-webrtc', 'do not answer WebRTC peers (default: answered for torrents naming a ws:// tracker, and on --ws-tracker)')
    .option('--webrtc-offers <n>', 'WebRTC offers sent with each announce (default 0: answer only)', integer(0, 5), WEBRTC_POOL_DEFAULTS.offersPerAnnounce)
    .action(async (opts) => {
      const log = loggerFor(io, opts)
      if (opts.publicUrl !== undefined && opts.http === undefined) {
        throw new UsageError('ERR_PUBLIC_URL_NEEDS_HTTP', '--public-url needs --http (the URL must lead to this HTTP server)')
      }
      if (!hasTorrentSource(opts)) {
        throw new UsageError('ERR_NOTHING_TO_SERVE', 'nothing to serve: give -l <dir> (a directory of .torrent files, or TORRENT_FISH_LOAD_PATH), or --http <port> with --admin-token <token> to add torrents over HTTP')
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
    .addOption(quietOption())
    .action(async (files: string[], opts) => {
      const log = loggerFor(io, opts)
      // Subcommands load their modules on use: `serve` should not carry create-torrent or a tracker server.
      result = import('./magnet.ts').then(m => m.start({ files, ...opts } as magnet.MagnetArgs, io, log))
    })

  program
    .command('example')
    .description('offline demo: serve example torrents whose content is on a local web seed, and print their magnets')
    .option('-p, --port <port>', 'metadata peer port (0 = any free port)', integer(0, 65535), SERVICE_DEFAULTS.port)
    .option('--web-seed-port <port>', 'port of the local web seed (0 = any free port)', integer(0, 65535), 0)
    .option('--tracker-port <port>', 'port of the embedded tracker, HTTP/WebSocket and UDP (0 = any free port)', integer(0, 65535), 0)
    .option('--demo-port <port>', 'port of the demo page (0 = any free port)', integer(0, 65535), 0)
    .option('--dir <dir>', 'write the example content and torrents into <dir>/torrent-fish-example, a directory of its own (default: a fresh temp dir, removed on exit)')
    .option('--self-test', 'download every example magnet with a WebTorrent client, then exit')
    .option('--json', 'log JSON lines instead of text')
    .option('-v, --verbose', 'log every peer connection and close')
    .addOption(quietOption())
    .addOption(logLevelOption())
    .action(async (opts) => {
      const log = loggerFor(io, opts)
      result = runExample(opts as example.ExampleArgs, log, options)
    })

  program
    .command('tracker')
    .description('run an HTTP + UDP + WebSocket BitTorrent tracker (no outside service needed)')
    .option('-p, --port <port>', 'HTTP/WebSocket port, and UDP port (0 = any free port)', integer(0, 65535), EMBEDDED_TRACKER_DEFAULT_PORT)
    .option('--host <address>', 'address to listen on (default: every IPv4 address)', address)
    .option('--interval <seconds>', 'announce interval asked of clients', integer(10, 86_400), 600)
    .option('--trust-proxy', 'trust X-Forwarded-For (behind a reverse proxy)')
    .option('--no-stats', 'no /stats page')
    .option('--json', 'log JSON lines instead of text')
    .addOption(quietOption())
    .addOption(logLevelOption())
    .action(async (opts) => {
      const log = loggerFor(io, opts)
      result = import('./tracker.ts').then(m => m.run(opts as trackerCommand.TrackerArgs, log, options.signals !== false))
    })

  // Flags from TORRENT_FISH_* for whichever command runs (flags given on the command line win).
  program.hook('preAction', (_program, command) => applyEnv(command, env))
  program.addHelpText('after', envHelp(program))
  for (const command of program.commands) command.addHelpText('after', envHelp(command))

  const usage = (code: string, message: string): number => {
    if (json) io.err(JSON.stringify({ time: new Date().toISOString(), level: 'error', event: 'usage', code, message, exitCode: 2 }))
    else io.err(`torrent-fish: ${message}`)
    return 2
  }
  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0
      // Printed already (through writeErr) unless --json: then it is this one JSON line.
      if (json) usage(usageCode(err.code), err.message.replace(/^error: /, ''))
      return 2
    }
    if (err instanceof UsageError || err instanceof EnvUsageError) return usage(err.code, err.message)
    io.err(`torrent-fish: ${(err as Error).message}`)
    return 1
  }
  return await result
}

async function runServe (args: serve.ServeArgs, log: Logger, options: MainOptions): Promise<number> {
  let fish: TorrentFish
  const early = catchSignalsEarly(options)
  try {
    fish = await serve.start(args, log, early.signal)
  } catch (err) {
    early.off()
    const code = (err as { code?: unknown }).code
    log.error('start-failed', (err as Error).message, typeof code === 'string' ? { code } : {})
    return 1
  }
  const offHup = options.signals !== false ? serve.handleSighup(fish, log) : () => {}
  try {
    return await waitForShutdown(fish, log, options, () => fish.close(), early)
  } finally {
    offHup()
  }
}

/**
 * Catches SIGINT/SIGTERM from before start-up output is printed: without a listener Node dies
 * at once on them, so a supervisor (or a test) that signals right after reading the first
 * lines would kill the process instead of stopping it. `take()` hands the signal seen, if any.
 */
function catchSignalsEarly (options: MainOptions): { take: () => string | null, off: () => void, signal: AbortSignal } {
  let seen: string | null = null
  // Aborted on the first signal, so a long first scan ends at its next file (serve.start).
  const stop = new AbortController()
  if (options.signals === false) return { take: () => null, off: () => {}, signal: stop.signal }
  const onInt = (): void => { seen ??= 'SIGINT'; stop.abort() }
  const onTerm = (): void => { seen ??= 'SIGTERM'; stop.abort() }
  process.on('SIGINT', onInt)
  process.on('SIGTERM', onTerm)
  return { take: () => seen, off: () => { process.off('SIGINT', onInt); process.off('SIGTERM', onTerm) }, signal: stop.signal }
}

/** Serves until SIGINT/SIGTERM (or until embedding code closes the service). */
function waitForShutdown (fish: TorrentFish, log: Logger, options: MainOptions, shutdown: () => Promise<void>, early?: ReturnType<typeof catchSignalsEarly>): Promise<number> {
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
    const pending = early?.take() ?? null
    early?.off()
    if (pending) stop(pending)
  })
}

/** What `npm start` (the example) prints last: what a newcomer can try next. */
function logNextSteps (running: example.RunningExample, log: Logger, selfTested: boolean): void {
  const steps = selfTested
    ? ['npm start (without --self-test) keeps the example serving: open its demo page, paste its magnets into a client',
        'torrent-fish -l <dir> serves your own .torrent files; torrent-fish magnet <file>.torrent prints the magnet that works with it']
    : [
        ...(running.demo ? [`open ${running.demo.url} in a browser and drop a .torrent on it: the tab serves its metadata too`] : []),
        'paste a magnet above into a BitTorrent client (aria2c, WebTorrent, qBittorrent): the metadata comes from here, the content from the web seed',
        'torrent-fish -l <dir> serves your own .torrent files; torrent-fish create <file> --web-seed <url> makes one; torrent-fish magnet <file>.torrent prints its magnet',
        'Ctrl-C stops the example'
      ]
  for (const step of steps) log.info('next', `next: ${step}`, { step })
}

async function runExample (args: example.ExampleArgs, log: Logger, options: MainOptions): Promise<number> {
  const exampleModule = await import('./example.ts')
  let running: example.RunningExample
  const early = catchSignalsEarly(args.selfTest ? { ...options, signals: false } : options)
  try {
    running = await exampleModule.runExample(args, log)
  } catch (err) {
    early.off()
    log.error('start-failed', (err as Error).message)
    return 1
  }
  if (args.selfTest) {
    const ok = await exampleModule.selfTest(running, log)
    await running.close()
    if (ok) logNextSteps(running, log, true)
    return ok ? 0 : 1
  }
  logNextSteps(running, log, false)
  return await waitForShutdown(running.fish, log, options, () => running.close(), early)
}
