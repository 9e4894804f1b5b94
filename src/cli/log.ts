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

export const processOutput: Output = {
  out: line => { process.stdout.write(line + '\n') },
  err: line => { process.stderr.write(line + '\n') }
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
