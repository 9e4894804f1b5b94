/**
 * Reader processes for a first directory scan: the loader hands each file to one of a few
 * child processes (load-reader-child.ts), which read, parse and hash it while the loader adds
 * the records that came back, so two cores work at once and the readers' garbage and buffers
 * go back to the system when they exit. Answers are taken in the order the files were handed
 * out, so the scan loads in the walk's order whatever the readers' speeds.
 *
 * A reader that dies, is killed, stalls or answers with a line that does not check out costs
 * nothing but time: each file it did not answer comes back as "read it yourself" and the
 * loader reads it in process, as without readers.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { StringDecoder } from 'node:string_decoder'
import { readFileSync } from 'node:fs'
import { cpus, freemem } from 'node:os'
import { TorrentFishError } from '../core/errors.ts'
import { READER_CHILD_FILE, READER_ENV } from './load-reader-child.ts'

/** Names sent to a reader in one write (and answered in one): fewer wake-ups per file. */
const BATCH = 64
/**
 * Files handed out and not yet taken back, per reader: room for its backlog plus the files the
 * loader reads itself behind an unanswered one (their records are small, a few hundred bytes).
 */
const WINDOW_PER_READER = 16 * BATCH
/**
 * A reader this many files behind (sent, not answered) gets no more for now: the loader reads
 * the next files itself. So the loader never only waits: on a busy machine, where a reader
 * gets little CPU, the scan drifts back to reading in process; with a free core the reader
 * takes what it keeps up with (~70% of a 100k scan: the loader adds a reader's record in about
 * a third of the time it takes to read, parse and hash a file itself). Four batches: answers
 * reach the loader only when it lets the event loop turn (every 16 files), and with two
 * batches the reader sat idle ~30% of the time waiting for names meanwhile.
 */
const MAX_BEHIND = 4 * BATCH
/** A reader with files to answer that sends nothing for this long is stuck (a hung disk): killed. */
const STALL_MS = 30_000
/** Node flags a reader keeps from this process (heap sizes, profiling), never --inspect and the like. */
const KEPT_FLAG = /^--(max-semi-space-size|max-old-space-size|cpu-prof|heap-prof)/

/**
 * What the loader gets back for a file: the reader's answer, or undefined: read it in process;
 * for a file the loader read itself when it was handed out, what it found (`own`).
 */
export interface ReaderAnswer<T> {
  full: string
  line: string | undefined
  own?: T
}

class Reader {
  readonly child: ChildProcess
  private readonly decoder = new StringDecoder('utf8')
  private rest = ''
  private lines: string[] = []
  private head = 0
  private out = ''
  private outCount = 0
  /** Sent and not taken back yet. */
  owed = 0
  /** Sent and not answered yet. */
  behind = 0
  /** Answers seen since the stall check last looked. */
  heard = false
  dead = false
  /** Said it has started (its first line). */
  ready = false
  private waiter: ((line: string | undefined) => void) | null = null
  /** Called once when it has started or is gone, whichever comes first. */
  onSettled: (() => void) | null = null

  constructor (root: string) {
    const flags = process.execArgv.filter(f => KEPT_FLAG.test(f))
    this.child = spawn(process.execPath, [...flags, '--no-warnings', READER_CHILD_FILE, root], {
      cwd: root,
      env: { ...process.env, [READER_ENV]: '1' },
      stdio: ['pipe', 'pipe', 'inherit']
    })
    this.child.on('error', () => this.gone())
    this.child.on('exit', () => this.gone())
    this.child.stdin!.on('error', () => this.gone())
    this.child.stdout!.on('data', (chunk: Buffer) => this.data(chunk))
  }

  send (rel: string): void {
    this.out += rel + '\n'
    this.owed += 1
    this.behind += 1
    if (++this.outCount >= BATCH) this.flush()
  }

  flush (): void {
    if (this.outCount === 0 || this.dead) return
    this.child.stdin!.write(this.out)
    this.out = ''
    this.outCount = 0
  }

  /** Whether {@link take} would answer now, without waiting. */
  get answered (): boolean { return this.head < this.lines.length || this.dead }

  /** The next answer: now if it is here, else when it comes (undefined if the reader is gone). */
  take (): string | undefined | Promise<string | undefined> {
    if (this.head < this.lines.length) {
      const line = this.lines[this.head++]
      if (this.head === this.lines.length) { this.lines = []; this.head = 0 }
      this.owed -= 1
      return line
    }
    if (this.dead) { this.owed -= 1; return undefined }
    this.flush()
    return new Promise(resolve => { this.waiter = resolve })
  }

  private data (chunk: Buffer): void {
    this.heard = true
    const text = this.rest + this.decoder.write(chunk)
    let at = 0
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', at)) {
      if (this.ready) { this.lines.push(text.slice(at, nl)); this.behind -= 1 }
      else if (text.slice(at, nl) === '+') { this.ready = true; this.settled() }
      at = nl + 1
    }
    this.rest = text.slice(at)
    this.wake()
  }

  private wake (): void {
    const w = this.waiter
    if (w === null || (this.head >= this.lines.length && !this.dead)) return
    this.waiter = null
    w(this.take() as string | undefined)
  }

  /** Exited, failed to start, or its pipe broke: what it owes is read in process. */
  gone (): void {
    if (this.dead) return
    this.dead = true
    // A line cut short by the exit is not an answer.
    this.rest = ''
    this.wake()
    this.settled()
  }

  private settled (): void {
    const f = this.onSettled
    this.onSettled = null
    f?.()
  }

  kill (): void {
    this.child.kill('SIGKILL')
    this.gone()
  }

  end (): void {
    if (!this.dead) this.child.stdin!.end()
    this.child.unref()
  }
}

export class ReaderPool<T = never> {
  private readonly readers: Reader[]
  private readonly root: string
  /** Handed-out files in walk order: their full path and reader (-1: read in process, with what was found). */
  private fulls: string[] = []
  private owners: number[] = []
  private owns: Array<T | undefined> = []
  private head = 0
  private turn = 0
  private readonly stallTimer: ReturnType<typeof setInterval>

  private readonly maxBehind: number

  /**
   * `spawned` sees each reader's process (tests kill one to check what is lost: nothing);
   * `maxBehind`: files a reader may have unanswered before the loader reads the next itself
   * (tests: Infinity hands every file to a reader, a small number makes both read).
   */
  constructor (root: string, count: number, spawned?: (child: ChildProcess) => void, maxBehind = MAX_BEHIND) {
    this.root = root
    this.maxBehind = maxBehind
    this.readers = []
    for (let i = 0; i < count; i++) {
      const r = new Reader(root)
      this.readers.push(r)
      spawned?.(r.child)
    }
    this.stallTimer = setInterval(() => this.checkStalls(), STALL_MS)
    this.stallTimer.unref()
  }

  /** Files handed out and not yet taken back. */
  get pending (): number { return this.fulls.length - this.head }

  /** Whether a reader has started: until then the loader reads files itself. */
  get ready (): boolean { return this.readers.some(r => r.ready && !r.dead) }

  /** Resolves when every reader has started or is gone (tests: then each gets its share). */
  started (): Promise<void> {
    return new Promise(resolve => {
      let left = 0
      const one = (): void => { if (--left === 0) resolve() }
      for (const r of this.readers) if (!r.ready && !r.dead) { left += 1; r.onSettled = one }
      if (left === 0) resolve()
    })
  }

  /** Whether the loader should take an answer back before handing out more. */
  get full (): boolean { return this.pending >= WINDOW_PER_READER * this.readers.length }

  private sincePoll = 0

  /**
   * Whether the loader should let the readers' answers in (one turn of the event loop) before
   * handing out the next file: its scan runs on microtasks, so answers wait in the pipe until
   * it yields. At most once per 16 files, and only while a reader has files to answer.
   */
  get wantsPoll (): boolean {
    if (++this.sincePoll < 16) return false
    this.sincePoll = 0
    return this.awaiting
  }

  /** Whether the earliest file handed out can be taken back without waiting. */
  get headReady (): boolean {
    if (this.head >= this.fulls.length) return false
    const owner = this.owners[this.head]
    return owner < 0 || this.readers[owner].answered
  }

  /** Whether some reader has files to answer (answers wait in the pipe until the loop turns). */
  get awaiting (): boolean { return this.readers.some(r => r.behind > 0 && !r.dead) }

  /**
   * Hands a file under the load path to a reader with room: true. False: no reader takes it,
   * and the loader reads it now and queues what it found with {@link own}, so it never waits
   * on a reader while it has files of its own to read.
   */
  offer (full: string): boolean {
    const owner = this.pick(full)
    if (owner < 0) return false
    this.readers[owner].send(full.slice(this.root.length + 1))
    this.fulls.push(full)
    this.owners.push(owner)
    this.owns.push(undefined)
    return true
  }

  /** Queues a file the loader read itself, in walk order with the readers' files. */
  own (full: string, found: T): void {
    this.fulls.push(full)
    this.owners.push(-1)
    this.owns.push(found)
  }

  private pick (full: string): number {
    // A name the line protocol cannot carry is read in process.
    if (!(full.length > this.root.length + 1 && full.startsWith(this.root))) return -1
    const rel = full.slice(this.root.length + 1)
    if (rel.includes('\n') || rel.includes('\r')) return -1
    for (let tries = 0; tries < this.readers.length; tries++) {
      const i = this.turn
      this.turn = (this.turn + 1) % this.readers.length
      const r = this.readers[i]
      if (r.ready && !r.dead && r.behind < this.maxBehind) return i
    }
    return -1
  }

  /** The answer for the earliest file handed out and not taken back yet. */
  next (): ReaderAnswer<T> | Promise<ReaderAnswer<T>> {
    const full = this.fulls[this.head]
    const owner = this.owners[this.head]
    const own = this.owns[this.head]
    this.fulls[this.head] = ''
    this.owns[this.head] = undefined
    if (++this.head === this.fulls.length) { this.fulls = []; this.owners = []; this.owns = []; this.head = 0 }
    if (owner < 0) return own === undefined ? { full, line: undefined } : { full, line: undefined, own }
    const got = this.readers[owner].take()
    if (typeof got === 'string' || got === undefined) return { full, line: got }
    for (const r of this.readers) r.flush()
    return got.then(line => ({ full, line }))
  }

  private checkStalls (): void {
    for (const r of this.readers) {
      if (!r.dead && r.owed > 0 && !r.heard) r.kill()
      r.heard = false
    }
  }

  /** Lets the readers exit (their input ends); `kill` for a scan that stops part-way. */
  close (kill = false): void {
    clearInterval(this.stallTimer)
    for (const r of this.readers) { if (kill) r.kill(); else r.end() }
  }
}

/**
 * What the readers' count is chosen from: the machine's idle time over every core (ms), the
 * loader's own file reads so far (count, and ms spent in them), and when.
 */
export interface IdleMark { idleMs: number, at: number, reads: number, readMs: number }

/** Where the loader's own read time comes from (load-file-reader.ts SyncFileReader). */
export interface ReadClock { reads: number, readMs: number }

/** Linux reports /proc/stat in USER_HZ ticks, 100 a second on every architecture. */
const MS_PER_TICK = 10

/**
 * The idle mark now. On Linux from /proc/stat, counting `iowait` (idle time with a disk read
 * outstanding) as idle, which os.cpus() leaves out; elsewhere os.cpus().
 */
export function idleNow (clock: ReadClock = { reads: 0, readMs: 0 }): IdleMark {
  const mark = { idleMs: 0, at: performance.now(), reads: clock.reads, readMs: clock.readMs }
  try {
    const f = readFileSync('/proc/stat', 'latin1').slice(0, 256).split('\n', 1)[0].trim().split(/\s+/)
    const idle = Number(f[4]); const ioWait = Number(f[5])
    if (f[0] === 'cpu' && Number.isFinite(idle) && Number.isFinite(ioWait)) { mark.idleMs = (idle + ioWait) * MS_PER_TICK; return mark }
  } catch {}
  for (const c of cpus()) mark.idleMs += c.times.idle
  return mark
}

/** Readers for idle cores. */
const MAX_CPU_READERS = 2
/** Readers while the scan waits on the disk: more reads in flight, not more CPU. */
const MAX_DISK_READERS = 4
/**
 * A file read slower than this on average came from the disk, not the page cache (on this
 * VM ~13 us from the page cache, 140-400 us from its disk, open to close).
 */
const DISK_READ_MS = 0.05
/** Memory to keep free per reader (a reader's RSS is ~65-70 MiB). */
const DISK_READER_MEMORY = 256 * 1024 * 1024

/**
 * Readers for what happened since `start`: one per idle core (none on a busy machine), at most
 * 2; while the loader's own reads come from the disk, up to 4 (more reads in flight: this VM's
 * disk serves four at once in about half the time of one), as long as 256 MiB of memory is free
 * per reader, so a small VM keeps the idle cores' count. A cold 100k scan from this VM's disk:
 * 12.1 s with 1 reader, 10.6 with 2, 9.5 with 4 (docs/benchmarks.md).
 */
export function readersFor (start: IdleMark, now: IdleMark, spareBytes: number = availableMemory()): number {
  const elapsed = Math.max(1, now.at - start.at)
  const idleCores = (now.idleMs - start.idleMs) / elapsed
  const forCpu = Math.max(0, Math.min(MAX_CPU_READERS, Math.floor(idleCores + 0.4)))
  const reads = now.reads - start.reads
  const fromDisk = reads > 0 && (now.readMs - start.readMs) / reads >= DISK_READ_MS
  if (!fromDisk) return forCpu
  return Math.max(forCpu, Math.min(MAX_DISK_READERS, Math.floor(spareBytes / DISK_READER_MEMORY)))
}

/** Memory the system can still give (the cgroup's limit counts where there is one). */
function availableMemory (): number {
  return typeof process.availableMemory === 'function' ? process.availableMemory() : freemem()
}

/** A reader's `!` answer (load-reader-child.ts): the error to warn with and the file's mtime. */
export function parseFailure (line: string): { err: Error, mtimeMs: number } | undefined {
  let v: unknown
  try { v = JSON.parse(line.slice(1)) } catch { return undefined }
  if (!Array.isArray(v) || v.length !== 3 || (v[0] !== null && typeof v[0] !== 'string') || typeof v[1] !== 'string' || typeof v[2] !== 'number') return undefined
  return { err: v[0] === null ? new Error(v[1]) : new TorrentFishError(v[0], v[1]), mtimeMs: v[2] }
}
