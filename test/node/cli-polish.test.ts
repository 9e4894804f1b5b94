// The CLI's rough edges, as a newcomer meets them: -l problems name the flag and the path,
// usage errors are JSON lines under --json, --quiet / --log-level, exit 2 when nothing is to be
// served, the start line that says how many torrents are served and where magnets come from,
// flags from TORRENT_FISH_* variables (flags win), the portable shebang, what `npm start` ends with.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { readFile, writeFile, mkdir, chmod } from 'node:fs/promises'
import path from 'node:path'
import { main, type MainOptions } from '../../src/cli/main.ts'
import type { TorrentFish } from '../../src/node.ts'
import { BIN } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'

const OFFLINE = ['-p', '0', '-i', '127.0.0.1', '--no-dht', '--no-lsd', '--no-utp']

interface Captured { out: string[], err: string[], io: { out: (l: string) => void, err: (l: string) => void } }
function capture (): Captured {
  const out: string[] = []
  const err: string[] = []
  return { out, err, io: { out: l => out.push(l), err: l => err.push(l) } }
}

/** Runs main() until it serves, then closes the service; resolves with the output and exit code. */
async function serveOnce (argv: string[], extra: Partial<MainOptions> = {}, whileServing?: (fish: TorrentFish) => Promise<void> | void): Promise<Captured & { code: number, fish?: TorrentFish }> {
  const c = capture()
  let fish: TorrentFish | undefined
  const code = await main(argv, {
    io: c.io,
    signals: false,
    ...extra,
    onServe: f => {
      fish = f
      void Promise.resolve(whileServing?.(f)).finally(() => { void f.close() })
    }
  })
  return { ...c, code, fish }
}

const jsonLines = (lines: string[]): any[] => lines.map(l => JSON.parse(l))

test('-l naming a missing directory: exit 1, the flag and the path named, no raw ENOENT/scandir', async t => {
  const dir = await tmpDir(t)
  const missing = path.join(dir, 'no-such-dir')
  const text = await serveOnce(['-l', missing, ...OFFLINE])
  assert.equal(text.code, 1)
  const all = text.err.join('\n')
  assert.match(all, new RegExp(`-l/--load-path ${missing}: no such directory`))
  assert.doesNotMatch(all, /ENOENT|scandir/)

  const json = await serveOnce(['-l', missing, ...OFFLINE, '--json'])
  assert.equal(json.code, 1)
  const [line] = jsonLines(json.err)
  assert.equal(line.event, 'start-failed')
  assert.equal(line.code, 'ERR_LOAD_PATH')
  assert.match(line.message, /-l\/--load-path .*no such directory/)
})

test('-l naming a file, or an unreadable directory: the flag, the path and the problem', async t => {
  const dir = await tmpDir(t)
  const file = path.join(dir, 'one.torrent')
  await writeFile(file, makeTorrent().torrentBytes)
  const notDir = await serveOnce(['-l', file, ...OFFLINE])
  assert.equal(notDir.code, 1)
  assert.match(notDir.err.join('\n'), new RegExp(`-l/--load-path ${file}: not a directory`))

  // Root reads every directory whatever its mode, so as root the CLI runs as `nobody` for this.
  const closed = path.join(dir, 'closed')
  await mkdir(closed)
  await chmod(closed, 0o000)
  await chmod(dir, 0o755)
  const denied = process.getuid?.() === 0
    ? await runAsNobody(['-l', closed, ...OFFLINE], dir)
    : await serveOnce(['-l', closed, ...OFFLINE])
  assert.equal(denied.code, 1)
  assert.match(denied.err.join('\n'), new RegExp(`-l/--load-path ${closed}: permission denied`))
})

/** The CLI as a child process running as `nobody` (uid/gid 65534): its exit code and stderr lines. */
async function runAsNobody (argv: string[], home: string): Promise<{ code: number | null, err: string[] }> {
  const child = spawn(process.execPath, [BIN, ...argv], { uid: 65534, gid: 65534, env: { ...process.env, HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] })
  const err: string[] = []
  createInterface({ input: child.stderr! }).on('line', l => err.push(l))
  const code = await new Promise<number | null>(resolve => child.on('close', c => resolve(c)))
  return { code, err }
}

test('--json: a usage error is one JSON line with a code (and exit 2)', async () => {
  const cases: Array<[string[], string, RegExp]> = [
    [['--bogus'], 'ERR_UNKNOWN_OPTION', /unknown option '--bogus'/],
    [['-p', 'abc'], 'ERR_INVALID_ARGUMENT', /--port/],
    [['-l'], 'ERR_OPTION_MISSING_ARGUMENT', /--load-path/],
    [['--log-level', 'loud'], 'ERR_INVALID_ARGUMENT', /--log-level.*debug, info, warn, error/],
    [['-q', '-v', '-l', '.'], 'ERR_CONFLICTING_OPTION', /--quiet.*--verbose|--verbose.*--quiet/],
    [['--public-url', 'https://x/', '-l', '.'], 'ERR_PUBLIC_URL_NEEDS_HTTP', /--public-url needs --http/],
    [[], 'ERR_NOTHING_TO_SERVE', /nothing to serve: give -l <dir>/]
  ]
  for (const [argv, code, message] of cases) {
    const c = capture()
    assert.equal(await main(['--json', ...argv], { io: c.io, signals: false, env: {} }), 2, argv.join(' '))
    assert.deepEqual(c.out, [], 'nothing on stdout')
    assert.equal(c.err.length, 1, `one line: ${c.err.join('\n')}`)
    const line = JSON.parse(c.err[0])
    assert.equal(line.level, 'error')
    assert.equal(line.event, 'usage')
    assert.equal(line.code, code, argv.join(' '))
    assert.equal(line.exitCode, 2)
    assert.match(line.message, message)
  }
})

test('nothing to serve (no -l, no --http with --admin-token): exit 2 with what to give instead', async () => {
  for (const argv of [[], ['-p', '0'], ['--http', '0']]) {
    const c = capture()
    assert.equal(await main(argv, { io: c.io, signals: false, env: {} }), 2, argv.join(' '))
    assert.match(c.err.join('\n'), /nothing to serve: give -l <dir> .*--http <port> with --admin-token <token>/)
  }
  // --http with an admin token is a source: torrents arrive over POST /torrents.
  const s = await serveOnce([...OFFLINE, '--http', '127.0.0.1:0', '--admin-token', 'secret-token-123'], { env: {} })
  assert.equal(s.code, 0, s.err.join('\n'))
})

test('the start ends with how many torrents are served and where the magnets come from', async t => {
  const dir = await tmpDir(t)
  await writeFile(path.join(dir, 'a.torrent'), makeTorrent().torrentBytes)
  await writeFile(path.join(dir, 'b.torrent'), makeTorrent().torrentBytes)
  const plain = await serveOnce(['-l', dir, ...OFFLINE])
  assert.equal(plain.code, 0)
  const startLines = plain.out.filter(l => !/shutdown|closing/.test(l))
  assert.match(startLines.at(-1)!, new RegExp(`serving 2 torrents; magnets that work with it: torrent-fish magnet ${path.join(dir, '<name>.torrent')}$`))

  const http = await serveOnce(['-l', dir, ...OFFLINE, '--http', '127.0.0.1:0', '--json'])
  const ready = jsonLines(http.out).find(e => e.event === 'ready')
  assert.equal(ready.torrents, 2)
  assert.match(ready.statusPage, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  assert.match(ready.message, /or the status page http:\/\/127\.0\.0\.1:\d+\//)
})

test('--quiet prints warnings and errors only; --log-level error only errors; -v is debug', async t => {
  const dir = await tmpDir(t)
  await writeFile(path.join(dir, 'good.torrent'), makeTorrent().torrentBytes)
  await writeFile(path.join(dir, 'bad.torrent'), 'not bencode')
  const normal = await serveOnce(['-l', dir, ...OFFLINE, '--json'])
  assert.ok(jsonLines(normal.out).some(e => e.level === 'info' && e.event === 'ready'))
  assert.ok(jsonLines(normal.err).some(e => e.level === 'warn' && e.message.includes('bad.torrent')))

  const quiet = await serveOnce(['-l', dir, ...OFFLINE, '--json', '--quiet'])
  assert.equal(quiet.code, 0)
  assert.deepEqual(quiet.out, [], 'no info lines')
  assert.ok(jsonLines(quiet.err).some(e => e.level === 'warn' && e.message.includes('bad.torrent')), 'warnings still printed')

  const errorsOnly = await serveOnce(['-l', dir, ...OFFLINE, '--json', '--log-level', 'error'])
  assert.deepEqual([...errorsOnly.out, ...errorsOnly.err], [])

  const debug = await serveOnce(['-l', dir, ...OFFLINE, '--json', '--log-level', 'debug'])
  assert.ok(jsonLines(debug.out).some(e => e.level === 'debug' && e.event === 'torrent-added'), 'debug lines with --log-level debug')
})

test('flags from TORRENT_FISH_* variables; a flag on the command line wins; bad values name the variable', async t => {
  const dir = await tmpDir(t)
  await writeFile(path.join(dir, 'a.torrent'), makeTorrent().torrentBytes)
  const env = { TORRENT_FISH_LOAD_PATH: dir, TORRENT_FISH_PORT: '0', TORRENT_FISH_LISTEN_INTERFACE: '127.0.0.1', TORRENT_FISH_NO_DHT: '1', TORRENT_FISH_NO_LSD: 'yes', TORRENT_FISH_NO_UTP: 'true', TORRENT_FISH_ALLOW_PRIVATE: 'on', TORRENT_FISH_JSON: '1', TORRENT_FISH_CONNECTIONS_LIMIT: '42' }
  const fromEnv = await serveOnce([], { env })
  assert.equal(fromEnv.code, 0, fromEnv.err.join('\n'))
  const o = fromEnv.fish!.options
  assert.equal(o.loadPath, dir)
  assert.equal(o.listenInterface, '127.0.0.1')
  assert.equal(o.allowPrivate, true)
  assert.equal(o.utp, false)
  assert.equal(o.connectionLimit, 42)
  assert.ok(o.discovery && o.discovery.dht === false && o.discovery.lsd === false)
  assert.equal(jsonLines(fromEnv.out).find(e => e.event === 'ready').torrents, 1, 'JSON lines from TORRENT_FISH_JSON')

  // Flags win: a bad TORRENT_FISH_PORT is not even read when -p is given; off-values leave defaults.
  const flagsWin = await serveOnce(['-p', '0', '-c', '7'], { env: { ...env, TORRENT_FISH_PORT: 'not-a-port', TORRENT_FISH_ALLOW_PRIVATE: '0' } })
  assert.equal(flagsWin.code, 0, flagsWin.err.join('\n'))
  assert.equal(flagsWin.fish!.options.connectionLimit, 7)
  assert.equal(flagsWin.fish!.options.allowPrivate, false)

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ TORRENT_FISH_PORT: '70000' }, /TORRENT_FISH_PORT: --port: must be between 0 and 65535/],
    [{ TORRENT_FISH_NO_DHT: 'maybe' }, /TORRENT_FISH_NO_DHT: --no-dht is a switch/],
    [{ TORRENT_FISH_LOG_LEVEL: 'loud' }, /TORRENT_FISH_LOG_LEVEL: --log-level: .*debug, info, warn, error/]
  ]
  for (const [vars, message] of bad) {
    const c = capture()
    assert.equal(await main([], { io: c.io, signals: false, env: { ...env, ...vars } }), 2, JSON.stringify(vars))
    const line = JSON.parse(c.err.join('\n'))
    assert.equal(line.code, 'ERR_INVALID_ENV')
    assert.match(line.message, message)
  }
})

test("a subcommand's flags come from TORRENT_FISH_<COMMAND>_*; repeatable flags take a list", async t => {
  const dir = await tmpDir(t)
  const file = path.join(dir, 'a.torrent')
  await writeFile(file, makeTorrent().torrentBytes)
  const c = capture()
  // The service's own TORRENT_FISH_TRACKER does not leak into `magnet`.
  const env = { TORRENT_FISH_MAGNET_TRACKER: 'udp://one.example:1, udp://two.example:2', TORRENT_FISH_MAGNET_PEER: '127.0.0.1:6881', TORRENT_FISH_TRACKER: 'udp://service.example:3' }
  assert.equal(await main(['magnet', file], { io: c.io, signals: false, env }), 0, c.err.join('\n'))
  const magnet = new URL(c.out[0])
  assert.deepEqual(magnet.searchParams.getAll('tr').filter(u => u.includes('.example')), ['udp://one.example:1', 'udp://two.example:2'])
  assert.deepEqual(magnet.searchParams.getAll('x.pe'), ['127.0.0.1:6881'])
})

test('--help documents the environment variables', async () => {
  const c = capture()
  assert.equal(await main(['--help'], { io: c.io, signals: false }), 0)
  const help = c.out.join('\n')
  assert.match(help, /--foo-bar from TORRENT_FISH_FOO_BAR; a flag given on the\s+command line wins/)
  assert.match(help, /TORRENT_FISH_LOAD_PATH=\/torrents TORRENT_FISH_PORT=6881/)
  assert.match(help, /-q, --quiet/)
  assert.match(help, /--log-level <level>[\s\S]*choices: "debug", "info",\s+"warn", "error"/)
  const sub = capture()
  assert.equal(await main(['tracker', '--help'], { io: sub.io, signals: false }), 0)
  assert.match(sub.out.join('\n'), /TORRENT_FISH_TRACKER_FOO_BAR \(--port from TORRENT_FISH_TRACKER_PORT\)/)
})

test('the shebang is portable (#!/usr/bin/env node, no env -S) and the file runs as an executable', async () => {
  const first = (await readFile(BIN, 'utf8')).split('\n')[0]
  assert.equal(first, '#!/usr/bin/env node')
  const child = spawn(BIN, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s })
  const [code] = await new Promise<[number | null]>(resolve => child.once('close', c => resolve([c])))
  assert.equal(code, 0)
  assert.match(out, /^\d+\.\d+\.\d+/)
})

test('npm start (the example) ends its start-up output with what to try next', { timeout: 120_000 }, async t => {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'))
  assert.equal(pkg.scripts.start, './bin/torrent-fish.js example')
  const dir = await tmpDir(t, 'example')
  const child = spawn(process.execPath, [BIN, 'example', '-p', '0', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const lines: string[] = []
  const exited = new Promise<number | null>(resolve => child.once('exit', c => resolve(c)))
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', l => { lines.push(l); if (/next: Ctrl-C stops the example/.test(l)) resolve() })
    createInterface({ input: child.stderr }).on('line', l => lines.push(l))
    void exited.then(c => reject(new Error(`example exited (${c}) before its next steps:\n${lines.join('\n')}`)))
  })
  const firstNext = lines.findIndex(l => l.includes('next: '))
  assert.ok(lines.slice(0, firstNext).some(l => l.includes('magnet:?')), 'the magnets come first')
  const next = lines.slice(firstNext).map(l => l.replace(/^\S+ INFO +/, ''))
  assert.ok(next.every(l => l.startsWith('next: ')), next.join('\n'))
  assert.ok(next.some(l => /open http:\/\/.* in a browser/.test(l)) || !lines.some(l => l.includes('demo page (')), 'the demo page, when served')
  assert.ok(next.some(l => l.includes('paste a magnet above into a BitTorrent client')))
  assert.ok(next.some(l => l.includes('torrent-fish -l <dir>')))
  child.kill('SIGTERM')
  assert.equal(await exited, 0)
})
