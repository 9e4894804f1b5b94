/**
 * The two peers under attack, each its own process, started fresh for every flood:
 * - torrent-fish as `node bin/torrent-fish.js -l DIR -c 200` (plain node: no V8 flag from the
 *   bin's shebang), on 127.0.0.1 with an OS-chosen port, JSON logs, no DHT, LSD or announces
 *   (nothing to reach offline); uTP stays on (the UDP flood needs it); `--http` when asked;
 * - the python3-libtorrent baseline (bench/baseline_lt_peer.py: upload mode, every piece at
 *   priority 0, as the original torrent-fish), with the same connection limit and uTP on.
 * A peer that exits on its own is recorded (`died`), never waited on.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { nicePrefix, raisePriority } from './cpu-pin.ts'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const BIN = path.join(ROOT, 'bin', 'torrent-fish.js')
const BASELINE = path.join(ROOT, 'bench', 'baseline_lt_peer.py')
export const PYTHON = '/usr/bin/python3'

export type PeerName = 'torrent-fish' | 'libtorrent'

export interface Death {
  code: number | null
  signal: string | null
  /** performance.now() when the exit was seen. */
  at: number
  /** The first error line on stderr, e.g. "Error: Unrecognized extension: ut_metadata". */
  error?: string
}

export interface HostilePeer {
  name: PeerName
  pid: number
  port: number
  /** http://127.0.0.1:P of torrent-fish's HTTP face, when started with http. */
  httpUrl?: string
  child: ChildProcess
  /** Set when the process exited before stop() (a crash). */
  died: Death | null
  /** The command line, for the report. */
  command: string
  stderrTail (): string
  stop (): Promise<void>
}

export interface PeerStart {
  loadPath: string
  /** torrent-fish's bin to run (default this checkout's bin/torrent-fish.js), e.g. another worktree's. */
  tfBin?: string
  /** Node flags before torrent-fish's bin (torrent-fish only). */
  nodeArgs?: string[]
  connectionLimit: number
  http?: boolean
  timeoutMs?: number
  /** Run the peer on these CPUs only (a taskset list, see cpu-pin.ts). */
  cpus?: string
  /** Start it at a raised priority (cpu-pin.ts MEASURED_NICE). */
  raised?: boolean
  /** torrent-fish only: write the peer probe's trace here (peer-probe.ts, loaded with --import). */
  traceFile?: string
}

const PROBE = path.join(ROOT, 'bench', 'hostile', 'peer-probe.ts')

/** Nothing to reach offline: no DHT routers, no LAN multicast, no trackers named in the torrents. */
const TF_OFFLINE_FLAGS = ['--no-dht', '--no-lsd', '--no-announce']

export function libtorrentVersion (): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import libtorrent; print(libtorrent.__version__)'], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

type Line = Record<string, any>

/**
 * Peers still running: killed if the bench exits early (an exception, Ctrl-C, SIGTERM), so a
 * torrent-fish under test never outlives the run that started it.
 */
const running = new Set<ChildProcess>()
let exitHooked = false
function killRunningOnExit (): void {
  if (exitHooked) return
  exitHooked = true
  process.once('exit', () => { for (const c of running) c.kill('SIGKILL') })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))
}

/** How often the peer's log is read until it is ready. */
const READY_POLL_MS = 20

interface Placement { cpus?: string, raised?: boolean }

function launch (name: PeerName, cwd: string, cmd: string, args: string[], ready: (lines: Line[]) => { port: number, httpUrl?: string } | null, timeoutMs: number, cleanup: () => void, place: Placement, env?: NodeJS.ProcessEnv): Promise<HostilePeer> {
  const cpus = place.cpus
  const dir = mkdtempSync(path.join(tmpdir(), `tf-hostile-${name}-`))
  const logFile = path.join(dir, 'stdout.log')
  // stdout to a file, not a pipe: torrent-fish logs a line per exchange and a pipe drained by
  // the bench on the same two cores would block it (bench/peers.ts explains).
  const out = openSync(logFile, 'w')
  killRunningOnExit()
  // taskset and nice exec the command: the pid is the peer's, and every thread it starts is
  // pinned and at its priority.
  // Raised: a session of its own (detached), whose scheduling group raisePriority() raises too.
  const options = { cwd, stdio: ['pipe', out, 'pipe'] as Array<'pipe' | number>, ...(env ? { env } : {}), ...(place.raised ? { detached: true } : {}) }
  const prefix = [...(cpus ? ['taskset', '-c', cpus] : []), ...(place.raised ? nicePrefix() : [])]
  const child = prefix.length > 0 ? spawn(prefix[0], [...prefix.slice(1), cmd, ...args], options) : spawn(cmd, args, options)
  if (place.raised && child.pid) raisePriority(child.pid)
  closeSync(out)
  running.add(child)
  child.once('exit', () => running.delete(child))
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (s: string) => { stderr = (stderr + s).slice(-16_384) })
  let stopping = false
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const peer: HostilePeer = {
    name,
    pid: child.pid!,
    port: 0,
    child,
    died: null,
    command: [...prefix, path.basename(cmd), ...args.map(a => (a.startsWith(cwd + path.sep) ? path.relative(cwd, a) : a))].join(' '),
    stderrTail: () => stderr,
    stop: async () => {
      stopping = true
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const t = setTimeout(() => child.kill('SIGKILL'), 3000)
        await exited
        clearTimeout(t)
      }
      child.stdin?.destroy()
      rmSync(dir, { recursive: true, force: true })
      cleanup()
    }
  }
  child.once('exit', (code, signal) => {
    if (stopping) return
    // A stack's first line names the error; node prints the throwing source line before it.
    const error = stderr.split('\n').find(l => /^\w*Error\b|^Uncaught|^\w+Exception/.test(l.trim()))?.trim()
    peer.died = { code, signal, at: performance.now(), ...(error ? { error } : {}) }
  })
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const poll = setInterval(() => {
      if (peer.died) {
        clearInterval(poll)
        void peer.stop().then(() => reject(new Error(`${name} exited (${peer.died!.code ?? peer.died!.signal}) before it was ready: ${stderr.slice(-2000)}`)))
        return
      }
      if (performance.now() - started > timeoutMs) {
        clearInterval(poll)
        void peer.stop().then(() => reject(new Error(`${name} was not ready within ${timeoutMs} ms`)))
        return
      }
      const lines: Line[] = []
      for (const text of readFileSync(logFile, 'utf8').split('\n')) {
        try { lines.push(JSON.parse(text)) } catch { /* a partial or non-JSON line */ }
      }
      const r = ready(lines)
      if (!r) return
      clearInterval(poll)
      peer.port = r.port
      if (r.httpUrl) peer.httpUrl = r.httpUrl
      resolve(peer)
    }, READY_POLL_MS)
  })
}

export function startTorrentFish (o: PeerStart): Promise<HostilePeer> {
  const bin = o.tfBin ? path.resolve(o.tfBin) : BIN
  // The probe (a traced run only) is this checkout's, whichever bin runs: it watches, never serves.
  const probe = o.traceFile ? ['--import', PROBE] : []
  const args = [...(o.nodeArgs ?? []), ...probe, bin, '-l', o.loadPath, '-c', String(o.connectionLimit), '-p', '0', '-i', '127.0.0.1', '--json', ...TF_OFFLINE_FLAGS]
  if (o.http) args.push('--http', '127.0.0.1:0')
  return launch('torrent-fish', path.dirname(path.dirname(bin)), process.execPath, args, lines => {
    const loaded = lines.find(l => l.event === 'loaded')
    const tcp = lines.find(l => l.event === 'listening' && l.transport === 'tcp')
    const web = lines.find(l => l.event === 'http')
    if (!loaded || !tcp || (o.http && !web)) return null
    return { port: tcp.port, ...(web ? { httpUrl: String(web.url).replace(/\/+$/, '') } : {}) }
  }, o.timeoutMs ?? 60_000, () => {}, { cpus: o.cpus, raised: o.raised }, o.traceFile ? { ...process.env, TF_PEER_TRACE: o.traceFile } : undefined)
}

export function startLibtorrent (o: PeerStart): Promise<HostilePeer> {
  const save = mkdtempSync(path.join(tmpdir(), 'tf-hostile-lt-'))
  const args = [BASELINE, '--load-path', o.loadPath, '--save-path', save, '--connections-limit', String(o.connectionLimit), '--no-announce', '--utp', '--wait-ready']
  const started = launch('libtorrent', ROOT, PYTHON, args, lines => {
    const listening = lines.find(l => l.event === 'listening')
    const ready = lines.find(l => l.event === 'ready')
    return listening && ready ? { port: listening.port } : null
  }, o.timeoutMs ?? 60_000, () => rmSync(save, { recursive: true, force: true }), { cpus: o.cpus, raised: o.raised })
  // The same command line for every run in the report, whatever the temporary directory.
  return started.then(peer => { peer.command = peer.command.replace(save, '<empty dir>'); return peer })
}

export function startPeer (name: PeerName, o: PeerStart): Promise<HostilePeer> {
  return name === 'torrent-fish' ? startTorrentFish(o) : startLibtorrent(o)
}
