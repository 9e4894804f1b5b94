/**
 * CLI output: one line per event, human-readable by default or JSON lines with `--json`
 * (for log shippers). Errors and warnings go to stderr, everything else to stdout.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error'

/** Levels from the most to the least verbose; `--log-level X` prints X and everything after it. */
export const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error']

export interface Output {
  out: (line: string) => void
  err: (line: string) => void
}

/**
 * stdout lines written within a few milliseconds leave in one write. Node writes to files
 * and pipes synchronously, so a line per metadata exchange was a write(2) per exchange (a
 * third of the serve loop's syscalls at thousands of exchanges a second); flushing once per
 * event-loop turn still left about one write in two exchanges under load, since a busy loop
 * turns hundreds of times a second. Flushed LINE_FLUSH_MS after the first pending line, when
 * 64 KiB are pending, before anything goes to stderr (so a terminal shows both in order) and
 * at exit.
 */
/** How long a stdout line may wait for others: unnoticeable to a reader, ~40 writes a second at most under load. */
export const LINE_FLUSH_MS = 25

class LineBuffer {
  private pending: string[] = []
  private bytes = 0
  private scheduled = false
  private hooked = false
  private readonly flushBound = (): void => this.flush()
  private readonly write: (text: string) => void

  constructor (write: (text: string) => void) {
    this.write = write
  }

  push (line: string): void {
    this.pending.push(line)
    this.bytes += line.length + 1
    if (this.bytes >= 65536) return this.flush()
    if (!this.scheduled) {
      this.scheduled = true
      // Unreferenced: a pending line never keeps the process alive ('exit' flushes it).
      setTimeout(this.flushBound, LINE_FLUSH_MS).unref()
      // process.exit() and an uncaught exception still emit 'exit': nothing pending is lost.
      if (!this.hooked) { this.hooked = true; process.once('exit', this.flushBound) }
    }
  }

  flush (): void {
    this.scheduled = false
    if (this.pending.length === 0) return
    const text = this.pending.join('\n') + '\n'
    this.pending = []
    this.bytes = 0
    this.write(text)
  }
}

const stdoutLines = new LineBuffer(text => { process.stdout.write(text) })

export const processOutput: Output = {
  out: line => { stdoutLines.push(line) },
  err: line => { stdoutLines.flush(); process.stderr.write(line + '\n') }
}

export interface LoggerOptions {
  json?: boolean
  /** `-v`: the same as level `debug`. */
  verbose?: boolean
  /** `--quiet`: the same as level `warn`. */
  quiet?: boolean
  /** `--log-level`: the least severe level printed (default `info`). */
  level?: Level
}

export class Logger {
  readonly json: boolean
  /** Whether debug lines (every peer connection and close) are printed. */
  readonly verbose: boolean
  readonly level: Level
  private readonly io: Output
  private readonly threshold: number

  constructor (io: Output, options: LoggerOptions = {}) {
    this.io = io
    this.json = options.json === true
    this.level = options.level ?? (options.verbose === true ? 'debug' : options.quiet === true ? 'warn' : 'info')
    this.threshold = LEVELS.indexOf(this.level)
    this.verbose = this.level === 'debug'
  }

  log (level: Level, event: string, message: string, fields: Record<string, unknown> = {}): void {
    if (LEVELS.indexOf(level) < this.threshold) return
    const sink = level === 'warn' || level === 'error' ? this.io.err : this.io.out
    if (this.json) {
      sink(JSON.stringify({ time: new Date().toISOString(), level, event, message, ...fields }))
    } else {
      sink(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}`)
    }
  }

  debug (event: string, message: string, fields?: Record<string, unknown>): void { this.log('debug', event, message, fields) }
  info (event: string, message: string, fields?: Record<string, unknown>): void { this.log('info', event, message, fields) }
  warn (event: string, message: string, fields?: Record<string, unknown>): void { this.log('warn', event, message, fields) }
  error (event: string, message: string, fields?: Record<string, unknown>): void { this.log('error', event, message, fields) }
}
