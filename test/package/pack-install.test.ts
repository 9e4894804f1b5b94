/**
 * The package as a user gets it: `npm pack` this repository, install the tarball into fresh
 * projects from the npm registry (default registry config; a cache inside the test's temp dir
 * only), then use it the way the README says:
 *
 * - default install: ESM import, require() (the module, or a clear error), `npx torrent-fish --help`, the installed CLI serving
 *   a torrent whose metadata a real Wire fetches over TCP, and a strict TypeScript consumer of the
 *   Node entry (strict, module nodenext, no skipLibCheck);
 * - `--omit=optional`: the same without @roamhq/wrtc and utp-native, plus a strict TypeScript
 *   consumer of `torrent-fish/browser` with `types: []` and no @types/node installed at all;
 * - `--ignore-scripts`: import, --help and serving still work.
 *
 * One install per variant, no overrides in the consumer projects. It needs the registry, so
 * test/run.sh runs test/package/ outside the network namespace (loopback is all it listens on).
 * It packs the current dist/ (`npm run build` first; it fails if dist/ is older than src/).
 */
import { test, before, after, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { tmpDir, removeDir } from '../fixtures/tmp.ts'
import { singleFileTorrent, writeTorrentFiles, type FixtureTorrent } from '../fixtures/torrents.ts'
import { spawnCli } from '../fixtures/cli.ts'
import { startLeecher } from '../fixtures/leecher.ts'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const INSTALL_TIMEOUT_MS = 10 * 60_000
const devDeps = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')).devDependencies as Record<string, string>

interface Run { code: number | null, stdout: string, stderr: string, ms: number }

let work: string
let tarball: string
let packed: { files: Array<{ path: string, size: number }>, size: number, unpackedSize: number }

function run (command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const started = performance.now()
  const child = spawn(command, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    // The npm cache lives in the test's temp dir: nothing is cached outside it, nothing reused from before.
    env: { ...process.env, npm_config_cache: path.join(work, 'npm-cache'), npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...env }
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s })
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', code => resolve({ code, stdout, stderr, ms: performance.now() - started }))
  })
}

const tail = (r: Run): string => `exit ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`

async function newestMtime (dir: string): Promise<number> {
  let newest = 0
  for (const entry of await readdir(dir, { recursive: true })) {
    const s = await stat(path.join(dir, entry))
    if (s.isFile()) newest = Math.max(newest, s.mtimeMs)
  }
  return newest
}

async function duBytes (dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { recursive: true })) {
    const s = await stat(path.join(dir, entry))
    if (s.isFile()) total += s.size
  }
  return total
}

/** A fresh project with only a package.json, then one `npm install` of the tarball (and extras). */
async function installProject (name: string, npmFlags: string[], extra: string[] = []): Promise<{ dir: string, install: Run }> {
  const dir = path.join(work, name)
  await mkdir(dir)
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true, type: 'module' }, null, 2))
  const install = await run('npm', ['install', ...npmFlags, tarball, ...extra], dir)
  assert.equal(install.code, 0, `npm install ${npmFlags.join(' ')} of the tarball failed\n${tail(install)}`)
  return { dir, install }
}

async function checkImport (dir: string, t: TestContext): Promise<void> {
  const esm = await run(process.execPath, ['--input-type=module', '-e',
    "const t0 = performance.now(); const m = await import('torrent-fish'); const ms = performance.now() - t0; " +
    'console.log(JSON.stringify({ create: typeof m.createTorrentFish, compose: typeof m.composeMagnet, peer: typeof m.MetadataPeer, ms, rss: process.memoryUsage.rss() }))'], dir)
  assert.equal(esm.code, 0, `import('torrent-fish') failed\n${tail(esm)}`)
  const got = JSON.parse(esm.stdout.trim().split('\n').at(-1)!)
  assert.deepEqual({ create: got.create, compose: got.compose, peer: got.peer }, { create: 'function', compose: 'function', peer: 'function' })
  t.diagnostic(`import('torrent-fish'): ${got.ms.toFixed(0)} ms, RSS after ${(got.rss / 2 ** 20).toFixed(0)} MiB`)
}

/** require() gives the module (Node >= 22.12, a graph without top-level await) or an error saying to import() it. */
async function checkRequire (dir: string, t: TestContext): Promise<void> {
  const cjs = await run(process.execPath, ['-e', "try { const m = require('torrent-fish'); console.log(JSON.stringify({ create: typeof m.createTorrentFish })) } catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message })) }"], dir)
  assert.equal(cjs.code, 0, tail(cjs))
  const got = JSON.parse(cjs.stdout.trim().split('\n').at(-1)!)
  if (got.create !== undefined) {
    assert.equal(got.create, 'function')
    t.diagnostic("require('torrent-fish') loads the module")
  } else {
    assert.equal(got.code, 'ERR_TORRENT_FISH_ESM_ONLY', `a clear error, not ${got.code}: ${got.message}`)
    assert.match(got.message, /await import\('torrent-fish'\)/)
    t.diagnostic(`require('torrent-fish') refuses clearly: ${got.message}`)
  }
}

async function checkHelp (dir: string): Promise<void> {
  const help = await run('npx', ['torrent-fish', '--help'], dir)
  assert.equal(help.code, 0, `npx torrent-fish --help failed\n${tail(help)}`)
  assert.match(help.stdout, /Usage: torrent-fish/)
  assert.match(help.stdout, /-l, --load-path <dir>/)
  assert.match(help.stdout, /TORRENT_FISH_LOAD_PATH/, '--help documents configuration from the environment')
}

/** The installed CLI serves a torrent; a Wire fetches its info dict over TCP, byte-exact. */
async function checkServe (dir: string, t: TestContext): Promise<Array<{ event: string, [k: string]: any }>> {
  const torrents = path.join(dir, 'torrents')
  await mkdir(torrents)
  const torrent: FixtureTorrent = await singleFileTorrent({ name: `pack-${path.basename(dir)}.bin` })
  await writeTorrentFiles(torrents, [torrent])
  const cli = await spawnCli(['-l', torrents], t, { bin: path.join(dir, 'node_modules', 'torrent-fish', 'bin', 'torrent-fish.js'), cwd: dir })
  const socket = net.connect(cli.port, '127.0.0.1')
  await once(socket, 'connect')
  const leecher = startLeecher(socket as any, torrent.infoHash)
  const ext = (leecher.wire as any).ut_metadata
  await new Promise<void>((resolve, reject) => {
    ext.once('metadata', () => resolve())
    ext.once('warning', (err: Error) => reject(err))
    leecher.closed.then(() => reject(new Error('connection closed before the metadata arrived')), reject)
    ext.fetch()
  })
  const pieces = leecher.observed.metadataMessages.filter(m => m.msg.msg_type === 1).map(m => m.data)
  assert.deepEqual(Buffer.concat(pieces), Buffer.from(torrent.infoBytes), 'the info dict, byte-exact')
  await cli.waitFor('metadata-served', e => e.infoHash === torrent.infoHash)
  leecher.destroy()
  assert.equal(await cli.stop(), 0, 'SIGTERM exits 0')
  return cli.events
}

async function tsc (dir: string, tsconfig: object, files: Record<string, string>): Promise<Run> {
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text)
  await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
  return await run(process.execPath, [path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], dir)
}

before(async () => {
  const [src, built] = await Promise.all([newestMtime(path.join(REPO, 'src')), stat(path.join(REPO, 'dist', 'node.js')).then(s => s.mtimeMs, () => 0)])
  assert.ok(built >= src, 'dist/ is older than src/ (or missing): run `npm run build` first')
  work = await tmpDir(undefined, 'pack')
  // --ignore-scripts: prepack would rebuild dist/ while other test files read it.
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], REPO)
  assert.equal(pack.code, 0, `npm pack failed\n${tail(pack)}`)
  const json = pack.stdout.slice(pack.stdout.indexOf('['))
  packed = JSON.parse(json)[0]
  tarball = path.join(work, path.basename((packed as any).filename))
})

after(async () => { if (work) await removeDir(work) })

test('the tarball: LICENSE, README, docs, declarations; no source maps, no src/, no test bundles', () => {
  const files = packed.files.map(f => f.path)
  for (const f of ['LICENSE', 'README.md', 'package.json', 'bin/torrent-fish.js', 'dist/node.js', 'dist/node.d.ts', 'dist/browser.d.ts', 'dist/browser/torrent-fish.js', 'dist/browser/torrent-fish.min.js', 'dist/cli/main.js', 'demo/index.html']) {
    assert.ok(files.includes(f), `${f} is shipped`)
  }
  assert.deepEqual(files.filter(f => f.endsWith('.map') || f.startsWith('src/') || f.startsWith('test/') || f.startsWith('dist/browser-test/')), [])
  // Every relative docs/ link in the README leads to a shipped file.
  return readFile(path.join(REPO, 'README.md'), 'utf8').then(readme => {
    const links = [...readme.matchAll(/\]\((?!https?:|#)([^)#]+)(?:#[^)]*)?\)/g)].map(m => m[1])
    assert.ok(links.length > 0)
    for (const link of links) assert.ok(files.includes(link.replace(/^\.\//, '')), `README links to ${link}: ship it (package.json files) or make it absolute (https://github.com/torrent-fish/torrent-fish/blob/main/${link})`)
  })
})

// Each check is a subtest: one failing (say, an import) does not hide what the others find.

test('default install: strict TypeScript (Node entry), CLI, serving over TCP, import, require', { timeout: INSTALL_TIMEOUT_MS }, async t => {
  const { dir, install } = await installProject('default', [], [`typescript@${devDeps.typescript}`, `@types/node@${devDeps['@types/node']}`])
  const tfOnly = await duBytes(path.join(dir, 'node_modules')) - await duBytes(path.join(dir, 'node_modules', 'typescript')) - await duBytes(path.join(dir, 'node_modules', '@types', 'node'))
  t.diagnostic(`npm install (with typescript, @types/node): ${(install.ms / 1000).toFixed(1)} s; node_modules without them ${(tfOnly / 1e6).toFixed(1)} MB`)
  await t.test('a strict TypeScript consumer of the Node entry compiles (nodenext, no skipLibCheck)', async () => {
    const compiled = await tsc(dir, {
      compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', noEmit: true, types: ['node'] },
      files: ['node-consumer.ts']
    }, {
      'node-consumer.ts': [
        "import net from 'node:net'",
        "import { createTorrentFish, composeMagnet, InvalidOptionError, MetadataPeer, type TorrentRecord, type Warning } from 'torrent-fish'",
        '// @ts-expect-error internal classes are not exported',
        "import { DirectoryLoader } from 'torrent-fish'",
        "const fish = await createTorrentFish({ port: 0, discovery: false, loadPath: './torrents' })",
        "fish.on('warning', (w: Warning) => console.warn(w.code, w.message))",
        "fish.on('metadata-served', e => console.log(e.infoHash, e.peer.transport))",
        '// @ts-expect-error the warning code is a string: the typings are real, not any',
        "fish.on('warning', w => { const n: number = w.code; console.log(n) })",
        'const records: TorrentRecord[] = fish.torrents()',
        'for (const r of records) console.log(composeMagnet(r, { peerAddresses: [`127.0.0.1:${fish.port}`] }))',
        "console.log(new InvalidOptionError('port', 'bad').code, fish.getStats())",
        '// Only the documented API: the parts are read-only views, the internals are not in the types.',
        'const scheduled: number | undefined = fish.discovery?.status().scheduler.backlog',
        'console.log(scheduled, fish.webrtcTransport?.stats().offersReceived, fish.webSeedHealth?.summary())',
        '// @ts-expect-error the session behind the service is internal',
        'console.log(fish.session)',
        '// @ts-expect-error so are the directory loader and the store',
        'console.log(fish.loader, fish.store)',
        '// @ts-expect-error the WebRTC view has no signalling hooks',
        "fish.webrtcTransport?.onOffer({}, 'ws://x', () => true)",
        "const mine = new MetadataPeer({ connectionLimit: 10 })",
        "const conn = mine.handleConnection(net.connect(1, '127.0.0.1'), { transport: 'mine', direction: 'outgoing', infoHash: '0'.repeat(40) })",
        'console.log(typeof conn, mine.peers().length)',
        'await mine.close()',
        'await fish.close()',
        ''
      ].join('\n')
    })
    assert.equal(compiled.code, 0, `tsc (strict, nodenext, no skipLibCheck) of a Node consumer failed\n${tail(compiled)}`)
  })
  await t.test('npx torrent-fish --help', () => checkHelp(dir))
  await t.test('the installed CLI serves a torrent over TCP', async t => { await checkServe(dir, t) })
  await t.test("import('torrent-fish')", t => checkImport(dir, t))
  await t.test("require('torrent-fish') works or says to import() it", t => checkRequire(dir, t))
})

test('--omit=optional: strict TypeScript (browser entry, no @types/node); no native WebRTC or uTP; CLI, TCP serving, import', { timeout: INSTALL_TIMEOUT_MS }, async t => {
  const { dir, install } = await installProject('omit-optional', ['--omit=optional'], [`typescript@${devDeps.typescript}`])
  t.diagnostic(`npm install --omit=optional: ${(install.ms / 1000).toFixed(1)} s; node_modules ${((await duBytes(path.join(dir, 'node_modules')) - await duBytes(path.join(dir, 'node_modules', 'typescript'))) / 1e6).toFixed(1)} MB without typescript`)
  for (const absent of ['@roamhq/wrtc', 'utp-native', '@types/node']) {
    await assert.rejects(stat(path.join(dir, 'node_modules', absent)), `${absent} is not installed`)
  }
  await t.test('a strict TypeScript consumer of torrent-fish/browser compiles with types: [] and no @types/node', async () => {
    const compiled = await tsc(dir, {
      compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', lib: ['es2023', 'dom', 'dom.iterable'], noEmit: true, types: [] },
      files: ['browser-consumer.ts']
    }, {
      'browser-consumer.ts': [
        "import { createBrowserPeer, composeMagnet, type BrowserPeer } from 'torrent-fish/browser'",
        "const fish: BrowserPeer = createBrowserPeer({ trackers: ['wss://tracker.example.org'] })",
        "fish.on('metadata-served', e => console.log('served', e.infoHash))",
        '// @ts-expect-error infoHash is a string: the typings are real, not any',
        "fish.on('metadata-served', e => { const n: number = e.infoHash; console.log(n) })",
        "fish.webrtc.on('negotiation-close', e => console.log(e.reason, e.op, fish.webrtc.stats().peerConnections))",
        '// @ts-expect-error the session and the scheduler behind the peer are internal',
        'console.log(fish.session, fish.scheduler)',
        'export async function serveFile (file: File): Promise<string> {',
        '  const record = await fish.addTorrent(new Uint8Array(await file.arrayBuffer()), { source: file.name })',
        "  return composeMagnet(record, { extraTrackers: ['wss://tracker.example.org'] })",
        '}',
        ''
      ].join('\n')
    })
    assert.equal(compiled.code, 0, `tsc (strict, nodenext, types: [], no @types/node) of a browser consumer failed\n${tail(compiled)}`)
  })
  await t.test('npx torrent-fish --help', () => checkHelp(dir))
  await t.test('the installed CLI serves over TCP and says once that uTP is missing', async t => {
    const events = await checkServe(dir, t)
    const utpWarnings = events.filter(e => e.event === 'warning' && e.source === 'utp')
    assert.equal(utpWarnings.length, 1, 'a missing utp-native is said once')
    assert.ok(!events.some(e => e.event === 'listening' && e.transport === 'utp'))
  })
  await t.test("import('torrent-fish')", t => checkImport(dir, t))
})

test('--ignore-scripts: CLI, TCP serving and import work without any install script', { timeout: INSTALL_TIMEOUT_MS }, async t => {
  const { dir, install } = await installProject('ignore-scripts', ['--ignore-scripts'])
  t.diagnostic(`npm install --ignore-scripts: ${(install.ms / 1000).toFixed(1)} s; node_modules ${(await duBytes(path.join(dir, 'node_modules')) / 1e6).toFixed(1)} MB`)
  await t.test('npx torrent-fish --help', () => checkHelp(dir))
  await t.test('the installed CLI serves a torrent over TCP', async t => { await checkServe(dir, t) })
  await t.test("import('torrent-fish')", t => checkImport(dir, t))
})
