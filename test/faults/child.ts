/**
 * A torrent-fish CLI child process with its JSON log lines, for tests that need exact argv
 * (subcommands such as `example` take other flags than the ones test/fixtures/cli.ts adds).
 *
 *   const p = startChild(['example', '--dir', d, '--json', '-p', '0'], t)
 *   await p.waitFor('example')            // first matching JSON event, past or future
 *   p.child.kill('SIGHUP'); await p.exited
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { BIN, type CliEvent } from '../fixtures/cli.ts'
import type { HasAfter } from '../fixtures/tmp.ts'

export interface Child {
  child: ChildProcess
  events: CliEvent[]
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  waitFor (event: string, match?: (e: CliEvent) => boolean, timeoutMs?: number): Promise<CliEvent>
  /** Resolves with the first event of `event` logged after this call. */
  next (event: string, match?: (e: CliEvent) => boolean, timeoutMs?: number): Promise<CliEvent>
  stop (): Promise<void>
}

/**
 * `wrap` runs the CLI through another command that ends by exec-ing its arguments, e.g.
 * `['unshare', '-m', 'bash', '-c', 'mount ... && exec "$@"', '--']`: same pid, so signals reach it.
 */
export function startChild (args: string[], t?: HasAfter, env: NodeJS.ProcessEnv = process.env, wrap: string[] = []): Child {
  const argv = [...wrap.slice(1), process.execPath, BIN, ...args]
  const child = spawn(wrap[0] ?? argv.shift()!, argv, { stdio: ['ignore', 'pipe', 'pipe'], env })
  const events: CliEvent[] = []
  const other: string[] = []
  const waiters = new Set<{ event: string, match?: (e: CliEvent) => boolean, resolve: (e: CliEvent) => void }>()
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  let done = false
  void exited.then(() => { done = true })
  const onLine = (line: string): void => {
    let e: CliEvent
    try { e = JSON.parse(line) } catch { other.push(line); return }
    if (typeof e?.event !== 'string') { other.push(line); return }
    events.push(e)
    for (const w of [...waiters]) if (w.event === e.event && (!w.match || w.match(e))) { waiters.delete(w); w.resolve(e) }
  }
  createInterface({ input: child.stdout! }).on('line', onLine)
  createInterface({ input: child.stderr! }).on('line', onLine)
  const describe = (): string => [...events.map(e => JSON.stringify(e)), ...other].slice(-30).join('\n')
  const wait = (event: string, match: ((e: CliEvent) => boolean) | undefined, timeoutMs: number, past: boolean): Promise<CliEvent> => {
    const found = past ? events.find(e => e.event === event && (!match || match(e))) : undefined
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const w = { event, match, resolve: (e: CliEvent) => { clearTimeout(timer); resolve(e) } }
      // A deadline only so a broken build fails with the log instead of hanging the run.
      const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`no "${event}" within ${timeoutMs} ms\n${describe()}`)) }, timeoutMs)
      waiters.add(w)
      void exited.then(x => {
        if (!waiters.delete(w)) return
        clearTimeout(timer)
        reject(new Error(`torrent-fish exited (${x.code ?? x.signal}) before "${event}"\n${describe()}`))
      })
    })
  }
  const stop = async (): Promise<void> => {
    if (done) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
  t?.after(stop)
  return {
    child,
    events,
    exited,
    waitFor: (event, match, timeoutMs = 30_000) => wait(event, match, timeoutMs, true),
    next: (event, match, timeoutMs = 30_000) => wait(event, match, timeoutMs, false),
    stop
  }
}
