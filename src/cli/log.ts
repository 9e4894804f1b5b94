/**
 * CLI output: one line per event, human-readable by default or JSON lines with `--json`
 * (for log shippers). Errors and warnings go to stderr, everything else to stdout.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error'

export interface Output {
  out: (line: string) => void
  err: (line: string) => void
}

export const processOutput: Output = {
  out: line => { process.stdout.write(line + '\n') },
  err: line => { process.stderr.write(line + '\n') }
}

export class Logger {
  readonly json: boolean
  readonly verbose: boolean
  private readonly io: Output

  constructor (io: Output, options: { json?: boolean, verbose?: boolean } = {}) {
    this.io = io
    this.json = options.json === true
    this.verbose = options.verbose === true
  }

  log (level: Level, event: string, message: string, fields: Record<string, unknown> = {}): void {
    if (level === 'debug' && !this.verbose) return
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
