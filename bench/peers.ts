/**
 * The two peers under test, each started as its own process so its CPU time and RSS are
 * measured alone: torrent-fish (the CLI) and the libtorrent baseline. Load time is from
 * spawn() until the process reports every torrent loaded and its listening port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const BENCH = import.meta.dirname
const ROOT = path.dirname(BENCH)

/** torrent-fish, the libtorrent baseline, and Node's floor (bench/ref-responder.ts). */
export type PeerName = 'torrent-fish' | 'libtorrent' | 'node-floor'

export interface PeerProcess {
  name: PeerName
  pid: number
  port: number
  /** Torrents the peer says it loaded. */
  loaded: number
  failed: number
  /** torrent-fish: what its `loaded` line says of the scan beyond the counts (readers, inDiskOrder). */
  scan?: Record<string, unknown>
  /** spawn() -> loaded and listening, measured here. */
  loadMs: number
  /** libtorrent: spawn() -> every torrent checked (before that it refuses their peers). */
  readyMs?: number
  child: ChildProcess
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process has exited. */
  stop (): Promise<void>
}

export interface StartOptions {
  /** torrent-fish: run the build in dist/ (bench/tf-dist.mjs) instead of the sources. */
  dist?: boolean
  /** torrent-fish: keep watching the load path (the CLI default). */
  watch?: boolean
  /** Give up after this long (a 100k baseline load takes tens of seconds). */
  timeoutMs?: number
  /** torrent-fish: extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR']. */
  nodeArgs?: string[]
  /** torrent-fish: extra CLI flags, after the standard ones. */
  tfArgs?: string[]
  /** torrent-fish: the CLI entry to run (another checkout's bench/tf-cli.ts, for before/after in one run). */
  entry?: string
}

/**
 * CLI flags that turn off what the baseline does not run (DHT, LSD, uTP), for those the CLI
 * in this checkout knows; read from its --help so the bench keeps working as flags appear.
 */
export function matchingBaselineFlags (dist = false): string[] {
  const entry = dist ? path.join(BENCH, 'tf-dist.mjs') : path.join(BENCH, 'tf-cli.ts')
  const help = spawnSync(process.execPath, [entry, '--help'], { encoding: 'utf8' }).stdout ?? ''
  return ['--no-dht', '--no-lsd', '--no-utp'].filter(flag => help.includes(flag))
}

type Line = Record<string, any>

/** How often the peer's log is checked for its ready lines. */
const POLL_MS = 5

/**
 * Spawns a process and resolves once `done(lines)` says the JSON lines seen so far mean ready.
 * stdout goes to a file, not a pipe: torrent-fish logs a line per metadata exchange, and a
 * pipe the bench drains on the same two cores would block the peer's synchronous stdout
 * writes whenever the reader is descheduled; a file write never waits for a reader.
 */
function startProcess (name: PeerName, cmd: string, args: string[], done: (lines: Line[]) => { port: number, loaded: number, failed: number, loadedAt: number, readyAt?: number } | null, options: StartOptions, cleanup?: () => void): Promise<PeerProcess> {
  const logDir = mkdtempSync(path.join(tmpdir(), `tf-bench-${name}-`))
  const logFile = path.join(logDir, 'stdout.log')
  const out = openSync(logFile, 'w')
  const started = performance.now()
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', out, 'pipe'] })
  closeSync(out)
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
    }
    rmSync(logDir, { recursive: true, force: true })
    cleanup?.()
  }
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (s: string) => { if (stderr.length < 8192) stderr += s })
  return new Promise<PeerProcess>((resolve, reject) => {
    const lines: Line[] = []
    let offset = 0
    let buffered = ''
    let ready = false
    const fail = (err: Error): void => {
      if (ready) return
      ready = true
      clearTimeout(timer)
      clearInterval(poll)
      void stop().then(() => reject(new Error(`${err.message}${stderr ? `\n${name} stderr: ${stderr.slice(0, 2000)}` : ''}`)))
    }
    const timer = setTimeout(() => fail(new Error(`${name} did not report ready within ${options.timeoutMs ?? 600_000} ms`)), options.timeoutMs ?? 600_000)
    child.once('error', fail)
    child.once('exit', (code, signal) => fail(new Error(`${name} exited (${code ?? signal}) before it was ready`)))
    // Polling every few ms adds at most that much to a load time measured in hundreds of ms.
    const poll = setInterval(() => {
      const size = statSync(logFile).size
      if (size === offset) return
      const fd = openSync(logFile, 'r')
      const chunk = Buffer.alloc(size - offset)
      readSync(fd, chunk, 0, chunk.length, offset)
      closeSync(fd)
      offset = size
      buffered += chunk.toString('utf8')
      let nl
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        // When the bench first saw the line: at most one poll interval after it was written.
        try { lines.push({ ...JSON.parse(text), seenMs: performance.now() - started }) } catch { /* not a JSON line */ }
      }
      const result = done(lines)
      if (!result) return
      ready = true
      clearTimeout(timer)
      clearInterval(poll)
      const { loadedAt, readyAt, ...rest } = result
      resolve({ name, pid: child.pid!, ...rest, loadMs: loadedAt, ...(readyAt !== undefined ? { readyMs: readyAt } : {}), child, stop })
    }, POLL_MS)
  })
}

/** torrent-fish as its CLI: `-l DIR -p 0 --json --per-ip-limit 100000 -c 100000`. */
export function startTorrentFish (loadPath: string, options: StartOptions = {}): Promise<PeerProcess> {
  const entry = options.entry ?? (options.dist ? path.join(BENCH, 'tf-dist.mjs') : path.join(BENCH, 'tf-cli.ts'))
  // The same V8 flag bin/torrent-fish.js's shebang gives the installed CLI.
  const args = ['--max-semi-space-size=8', ...(options.nodeArgs ?? []), entry, '-l', loadPath, '-p', '0', '-i', '127.0.0.1', '--json', '--per-ip-limit', '100000', '-c', '100000']
  if (options.watch === false) args.push('--no-watch')
  args.push(...(options.tfArgs ?? []))
  return startProcess('torrent-fish', process.execPath, args, lines => {
    const loaded = lines.find(l => l.event === 'loaded')
    const listening = lines.find(l => l.event === 'listening' && l.transport === 'tcp')
    if (!loaded || !listening) return null
    return { port: listening.port, loaded: loaded.loaded, failed: loaded.failed, scan: { readers: loaded.readers, fromReaders: loaded.fromReaders, inDiskOrder: loaded.inDiskOrder }, loadedAt: Math.max(loaded.seenMs, listening.seenMs) }
  }, options)
}

/** The python3-libtorrent baseline (bench/baseline_lt_peer.py). */
export function startLibtorrent (loadPath: string, options: StartOptions = {}): Promise<PeerProcess> {
  const save = mkdtempSync(path.join(tmpdir(), 'tf-bench-lt-'))
  const args = [path.join(BENCH, 'baseline_lt_peer.py'), '--load-path', loadPath, '--save-path', save, '--connections-limit', '100000', '--wait-ready']
  return startProcess('libtorrent', '/usr/bin/python3', args, lines => {
    const loaded = lines.find(l => l.event === 'loaded')
    const listening = lines.find(l => l.event === 'listening')
    const ready = lines.find(l => l.event === 'ready')
    if (!loaded || !listening || !ready) return null
    // Load time is "every torrent added" (the add_torrent_alerts), as the targets define it.
    return { port: listening.port, loaded: loaded.loaded, failed: loaded.failed, loadedAt: Math.max(loaded.seenMs, listening.seenMs), readyAt: ready.seenMs }
  }, options, () => rmSync(save, { recursive: true, force: true }))
}

/** Node's floor: the reference responder (bench/ref-responder.ts), same V8 flag as the CLI. */
export function startNodeFloor (loadPath: string, options: StartOptions = {}): Promise<PeerProcess> {
  const args = ['--max-semi-space-size=8', ...(options.nodeArgs ?? []), path.join(BENCH, 'ref-responder.ts'), '-l', loadPath, '-p', '0']
  return startProcess('node-floor', process.execPath, args, lines => {
    const loaded = lines.find(l => l.event === 'loaded')
    const listening = lines.find(l => l.event === 'listening')
    if (!loaded || !listening) return null
    return { port: listening.port, loaded: loaded.loaded, failed: loaded.failed, loadedAt: Math.max(loaded.seenMs, listening.seenMs) }
  }, options)
}

export function startPeer (name: PeerName, loadPath: string, options: StartOptions = {}): Promise<PeerProcess> {
  if (name === 'node-floor') return startNodeFloor(loadPath, options)
  return name === 'torrent-fish' ? startTorrentFish(loadPath, options) : startLibtorrent(loadPath, options)
}
