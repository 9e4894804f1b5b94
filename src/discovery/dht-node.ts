/**
 * One Mainline DHT node (BEP 5, bittorrent-dht) shared by every public torrent.
 *
 * Its node id and routing table live in a state file so a restart rejoins the DHT where it
 * left off instead of bootstrapping from scratch with a new id. Announces go through the
 * shared scheduler like tracker announces (a target keyed `dht`), each one a lookup plus
 * `announce_peer` to the closest nodes; peers the lookups find go to the dialer.
 */
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import DHT from 'bittorrent-dht'
import { routingTableNodes, routingTableSize } from '../adapters/bittorrent-dht.ts'
import type { AnnounceEvent, AnnounceOutcome, AnnounceTarget } from '../announce/target.ts'
import { DhtError } from './errors.ts'
import { installDhtBencodeGuard } from './dht-bencode-guard.ts'
import type { SharedUdpSocket } from '../transport/utp.ts'

export interface DhtNodeOptions {
  /** Bootstrap nodes as `host:port`; `false` or `[]` for none (private test networks). Default: the public routers. */
  bootstrap?: string[] | false
  /** Where the node id and routing table are kept across restarts; none = not kept. */
  stateFile?: string
  /** A socket to share (the uTP socket); else the node binds its own UDP socket. */
  socket?: SharedUdpSocket
  /** UDP port to bind when not sharing a socket (0 = any). */
  port?: number
  /** IPv4 address to bind when not sharing a socket. */
  host?: string
  /** The TCP/uTP port peers should connect to, as announced. */
  peerPort: () => number
  /** DHT announces running at once (each is a lookup of dozens of queries; default 8). */
  maxInFlight?: number
  /** Re-announce interval (default 15 min, as libtorrent: DHT peers expire after ~30 min). */
  intervalMs?: number
  /** Called when the state file cannot be written (read-only or full disk); the node keeps running. */
  onSaveError?: (err: Error) => void
}

interface DhtState {
  nodeId: string
  nodes: Array<{ host: string, port: number, id?: string }>
}

/** How often the routing table is written while running (and once more on close). */
const SAVE_EVERY_MS = 10 * 60_000
/** Longest an announce waits for the first bootstrap round (k-rpc gives up on silent nodes in ~2 s). */
const BOOTSTRAP_WAIT_MS = 10_000
/** Nodes kept in the state file: enough to rejoin, small enough to write often. */
const MAX_SAVED_NODES = 500

/**
 * Reads the state file. A missing file is a first start; an unreadable, truncated or corrupt
 * one is reported as `problem` (the node then starts with a new id), never thrown.
 */
async function readState (file: string): Promise<{ state: DhtState | null, problem?: string }> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: null }
    return { state: null, problem: `cannot read the DHT state (${(err as Error).message})` }
  }
  let json: Partial<DhtState>
  try {
    json = JSON.parse(text) as Partial<DhtState>
  } catch (err) {
    return { state: null, problem: `DHT state is not valid JSON, truncated or corrupt (${(err as Error).message})` }
  }
  if (typeof json?.nodeId !== 'string' || !/^[0-9a-f]{40}$/i.test(json.nodeId)) return { state: null, problem: 'DHT state has no valid nodeId' }
  const nodes = Array.isArray(json.nodes) ? json.nodes.filter(n => typeof n?.host === 'string' && Number.isInteger(n?.port)) : []
  return { state: { nodeId: json.nodeId.toLowerCase(), nodes } }
}

export class DhtNode implements AnnounceTarget {
  readonly key = 'dht'
  readonly maxInFlight: number
  readonly defaultIntervalMs: number
  readonly sendsStopped = false
  readonly dht: any
  private readonly options: DhtNodeOptions
  private saveTimer: ReturnType<typeof setInterval> | null = null
  private closed = false
  /** Why the state file could not be used at start (corrupt, unreadable), if it could not. */
  stateProblem: string | undefined

  private constructor (dht: any, options: DhtNodeOptions) {
    this.dht = dht
    this.options = options
    this.maxInFlight = options.maxInFlight ?? 8
    this.defaultIntervalMs = options.intervalMs ?? 15 * 60_000
  }

  /** Starts the node (restoring id and routing table from the state file if there is one). */
  static async start (options: DhtNodeOptions): Promise<DhtNode> {
    // Every datagram is decoded by k-rpc-socket's own bencode copy: guard it first.
    installDhtBencodeGuard()
    const read = options.stateFile ? await readState(options.stateFile) : { state: null }
    const state = read.state
    const bootstrap = options.bootstrap === false ? false : options.bootstrap?.length === 0 ? false : options.bootstrap
    const dht = new DHT({
      ...(state ? { nodeId: state.nodeId } : {}),
      bootstrap,
      ...(options.socket ? { socket: options.socket } : {})
    })
    const node = new DhtNode(dht, options)
    node.stateProblem = read.problem
    for (const n of state?.nodes ?? []) {
      // Nodes with an id go straight into the table; the DHT pings them when buckets age.
      dht.addNode(n.id ? { host: n.host, port: n.port, id: n.id } : { host: n.host, port: n.port })
    }
    if (options.socket) {
      // The shared socket is already bound: tell k-rpc it listens (starts bucket refreshes).
      queueMicrotask(() => options.socket!.emit('listening'))
    } else {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => reject(new DhtError(`cannot listen on UDP ${options.host ?? '0.0.0.0'}:${options.port ?? 0}: ${err.message}`, { cause: err }))
        dht.once('error', onError)
        dht.listen(options.port ?? 0, options.host, () => { dht.off('error', onError); resolve() })
      })
    }
    if (options.stateFile) {
      node.saveTimer = setInterval(() => { node.save().catch(err => options.onSaveError?.(err as Error)) }, SAVE_EVERY_MS)
      node.saveTimer.unref?.()
    }
    return node
  }

  get nodeId (): string { return Buffer.from(this.dht.nodeId).toString('hex') }

  /** The UDP port DHT messages arrive on. */
  get port (): number { return this.dht.address().port }

  /** Nodes in the routing table. */
  get nodeCount (): number { return routingTableSize(this.dht) }

  async announce (infoHash: string, _event: AnnounceEvent, signal: AbortSignal): Promise<AnnounceOutcome> {
    if (this.closed) throw new DhtError('the DHT node is closed')
    await this.bootstrapped(signal)
    if (this.nodeCount === 0) throw new DhtError(`no nodes in the routing table yet (bootstrap: ${this.bootstrapLabel()})`)
    return await new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      // Peers found by the lookup arrive as the DHT's 'peer' events (the caller listens).
      this.dht.announce(infoHash, this.options.peerPort(), (err: Error | null) => {
        signal.removeEventListener('abort', onAbort)
        if (err) reject(new DhtError(`DHT announce of ${infoHash} failed: ${err.message} (${this.nodeCount} nodes in the routing table)`, { cause: err }))
        else resolve({ peers: [] })
      })
    })
  }

  /** Waits (bounded) for the first bootstrap round, so the first announces do not fail on an empty table. */
  private async bootstrapped (signal: AbortSignal): Promise<void> {
    if (this.dht.ready || this.nodeCount > 0) return
    await new Promise<void>(resolve => {
      const done = (): void => { clearTimeout(timer); this.dht.off('ready', done); signal.removeEventListener('abort', done); resolve() }
      const timer = setTimeout(done, BOOTSTRAP_WAIT_MS)
      this.dht.once('ready', done)
      signal.addEventListener('abort', done, { once: true })
    })
  }

  private bootstrapLabel (): string {
    const b = this.options.bootstrap
    return b === false || b?.length === 0 ? 'none' : b === undefined ? 'the public routers' : b.join(', ')
  }

  /** Writes the node id and routing table (atomically: temp file, then rename). */
  async save (): Promise<void> {
    const file = this.options.stateFile
    if (!file) return
    // The routing table itself, not toJSON(): that drops node ids, and nodes with ids can go
    // straight back into the table on the next start.
    const nodes = routingTableNodes(this.dht)
      .slice(0, MAX_SAVED_NODES)
      .map(n => ({ host: n.host, port: n.port, ...(n.id ? { id: typeof n.id === 'string' ? n.id : Buffer.from(n.id).toString('hex') } : {}) }))
    const state: DhtState = { nodeId: this.nodeId, nodes }
    await mkdir(path.dirname(file), { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    try {
      await writeFile(tmp, JSON.stringify(state, null, 1))
      await rename(tmp, file)
    } catch (err) {
      // A full disk leaves a partial temporary file: remove it, keep the last good state.
      await unlink(tmp).catch(() => {})
      throw err
    }
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.saveTimer) clearInterval(this.saveTimer)
    try { await this.save() } catch (err) { this.options.onSaveError?.(err as Error) }
    await new Promise<void>(resolve => this.dht.destroy(() => resolve()))
  }
}
