/**
 * `torrent-fish example` (`npm start`): the offline default. Writes a few example files, serves
 * them from a local web seed, starts an embedded tracker (HTTP, UDP, WebSocket), makes .torrent
 * files whose url-list points at the web seed and whose trackers are the embedded ones, serves
 * their metadata over TCP, uTP and WebRTC, serves the demo page, and prints magnets that work
 * with nothing else running. `--self-test` then fetches every magnet with a real WebTorrent
 * client and exits.
 */
import { mkdir, mkdtemp, writeFile, rm, rmdir, stat, unlink } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startWebSeed, type WebSeedServer } from '../node/web-seed-server.ts'
import { createTorrentFish, type TorrentFish } from '../node/torrent-fish.ts'
import { composeMagnet } from '../core/magnet.ts'
import { startEmbeddedTracker, type EmbeddedTracker } from '../discovery/embedded-tracker.ts'
import type { DemoServer } from '../node/demo-server.ts'
import { logEvents } from './serve.ts'
import type { Logger } from './log.ts'

export interface ExampleArgs {
  dir?: string
  port: number
  webSeedPort: number
  trackerPort?: number
  demoPort?: number
  selfTest?: boolean
}

export interface RunningExample {
  fish: TorrentFish
  webSeed: WebSeedServer
  tracker: EmbeddedTracker
  demo: DemoServer | null
  magnets: string[]
  close (): Promise<void>
}

/** Deterministic bytes (xorshift), so every run serves the same content. */
function pseudoRandom (size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

const FILES: Array<{ rel: string, bytes: () => Uint8Array }> = [
  { rel: 'hello-torrent-fish.txt', bytes: () => new TextEncoder().encode('Hello from torrent-fish: these bytes came from the web seed; the metadata came from a metadata-only peer.\n') },
  { rel: 'sample-3MiB.bin', bytes: () => pseudoRandom(3 * 1024 * 1024, 42) },
  { rel: 'album/01-intro.bin', bytes: () => pseudoRandom(300_000, 1) },
  { rel: 'album/02-theme.bin', bytes: () => pseudoRandom(700_000, 2) },
  { rel: 'album/notes.txt', bytes: () => new TextEncoder().encode('A multi-file torrent: the url-list is a base URL ending in "/" (BEP 19).\n') }
]

async function makeTorrent (input: string, opts: Record<string, unknown>): Promise<Uint8Array> {
  const { default: createTorrent } = await import('create-torrent')
  return await new Promise((resolve, reject) => {
    createTorrent(input, opts, (err: Error | null, torrent: Uint8Array) => err ? reject(err) : resolve(new Uint8Array(torrent)))
  })
}

/** Marks a directory as the example's own: only such a directory is ever written into. */
const MARKER = '.torrent-fish-example'
/** The example's directory under `--dir D`: D itself may hold the user's files. */
const OWN_DIR = 'torrent-fish-example'

/**
 * The directory the example writes into. With `--dir D` it is D/torrent-fish-example, created
 * (and marked) by the example, or reused when it carries the marker; any other existing
 * directory there is refused, since its files are not ours to overwrite. Without `--dir`, a
 * fresh temporary directory whose files are removed on close.
 */
async function ownDirectory (given: string | undefined): Promise<{ dir: string, temporary: boolean }> {
  if (given === undefined) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'torrent-fish-example-'))
    await writeFile(path.join(dir, MARKER), 'created by torrent-fish example\n', { flag: 'wx' })
    return { dir, temporary: true }
  }
  const dir = path.join(path.resolve(given), OWN_DIR)
  await mkdir(path.dirname(dir), { recursive: true })
  try {
    await mkdir(dir)
    await writeFile(path.join(dir, MARKER), 'created by torrent-fish example\n', { flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    const marked = await stat(path.join(dir, MARKER)).then(s => s.isFile(), () => false)
    if (!marked) throw new Error(`${dir} exists and was not created by torrent-fish example; refusing to write into it (choose another --dir)`)
  }
  return { dir, temporary: false }
}

/** Removes exactly the files the example wrote, then the directories left empty. */
async function removeCreated (dir: string, files: string[]): Promise<void> {
  for (const f of files) await unlink(f).catch(() => {})
  await unlink(path.join(dir, MARKER)).catch(() => {})
  const dirs = [...new Set(files.map(f => path.dirname(f)))].sort((a, b) => b.length - a.length)
  // rmdir, not rm -r: a directory that holds anything we did not write stays.
  for (const d of [...dirs, dir]) await rmdir(d).catch(() => {})
}

/** Sets up content, web seed, torrents and the metadata peer. */
export async function runExample (args: ExampleArgs, log: Logger): Promise<RunningExample> {
  const { dir, temporary } = await ownDirectory(args.dir)
  const content = path.join(dir, 'content')
  const torrents = path.join(dir, 'torrents')
  const created: string[] = []
  const write = async (file: string, bytes: Uint8Array): Promise<void> => {
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(file, bytes)
    created.push(file)
  }
  await mkdir(torrents, { recursive: true })
  for (const f of FILES) await write(path.join(content, f.rel), f.bytes())
  const webSeed = await startWebSeed(content, { port: args.webSeedPort, host: '127.0.0.1' })
  const tracker = await startEmbeddedTracker({ port: args.trackerPort ?? 0, host: '127.0.0.1' })
  const stopAll: Array<() => Promise<void>> = [...(temporary ? [() => removeCreated(dir, created)] : []), () => tracker.close(), () => webSeed.close()]
  const stop = async (): Promise<void> => { for (const s of stopAll.splice(0).reverse()) await s().catch(() => {}) }
  try {
    // announceList is explicit (the embedded tracker only): create-torrent would otherwise add public trackers.
    const common = { announceList: [[tracker.httpUrl], [tracker.udpUrl], [tracker.wsUrl]], createdBy: 'torrent-fish example', creationDate: new Date(0) }
    const inputs = [
      { input: path.join(content, 'hello-torrent-fish.txt'), urlList: [webSeed.url + 'hello-torrent-fish.txt'] },
      { input: path.join(content, 'sample-3MiB.bin'), urlList: [webSeed.url + 'sample-3MiB.bin'], pieceLength: 16384 },
      { input: path.join(content, 'album'), urlList: [webSeed.url] }
    ]
    for (const { input, ...opts } of inputs) {
      const bytes = await makeTorrent(input, { ...common, ...opts })
      await write(path.join(torrents, path.basename(input) + '.torrent'), bytes)
    }
    // The ws tracker turns on the WebRTC hybrid (when @roamhq/wrtc loads): browser tabs are served too.
    const fish = await createTorrentFish({ port: args.port, loadPath: torrents, wsTrackers: [tracker.wsUrl] }, f => logEvents(f, log))
    stopAll.push(() => fish.close())
    const demo = await startDemo(tracker, torrents, args.demoPort ?? 0, log)
    if (demo) stopAll.push(() => demo.close())
    const peerAddress = `127.0.0.1:${fish.port}`
    const magnets = fish.torrents().sort((a, b) => a.name.localeCompare(b.name)).map(r => composeMagnet(r, { peerAddresses: [peerAddress] }))
    log.info('example', `serving ${magnets.length} example torrents from ${torrents}; web seed ${webSeed.url}; tracker ${tracker.httpUrl} ${tracker.udpUrl} ${tracker.wsUrl}; metadata peer on port ${fish.port}`, { dir, webSeed: webSeed.url, tracker: [tracker.httpUrl, tracker.udpUrl, tracker.wsUrl], port: fish.port, demo: demo?.url })
    if (demo) log.info('demo', `demo page (a browser tab becomes a metadata peer): ${demo.url}`, { url: demo.url })
    for (const m of magnets) log.info('magnet', m, { magnet: m })
    return { fish, webSeed, tracker, demo, magnets, close: stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** Serves demo/ with the built browser bundle, if it has been built. */
async function startDemo (tracker: EmbeddedTracker, torrents: string, port: number, log: Logger): Promise<DemoServer | null> {
  const { startDemoServer, PACKAGE_ROOT } = await import('../node/demo-server.ts')
  const { existsSync } = await import('node:fs')
  if (!existsSync(path.join(PACKAGE_ROOT, 'dist', 'browser'))) {
    log.warn('demo', 'demo page not served: the browser bundle is not built (run npm run build)')
    return null
  }
  return await startDemoServer({ port, config: { trackers: [tracker.wsUrl], iceServers: [] }, mounts: { '/torrents/': torrents } })
}

/** Downloads every example magnet with WebTorrent (a dev dependency) and checks the bytes. */
export async function selfTest (example: RunningExample, log: Logger): Promise<boolean> {
  let WebTorrent: any
  try {
    WebTorrent = (await import('webtorrent')).default
  } catch {
    log.error('self-test', 'the self-test needs the webtorrent package (npm install in a checkout installs it)')
    return false
  }
  const client = new WebTorrent({ dht: false, lsd: false, tracker: false, utp: false, natUpnp: false, natPmp: false })
  // A fresh directory of our own: the recursive removal below then only ever removes our download.
  const target = await mkdtemp(path.join(os.tmpdir(), 'torrent-fish-selftest-'))
  let ok = true
  try {
    for (const magnet of example.magnets) {
      const started = Date.now()
      const torrent: any = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out: ${magnet}`)), 60_000)
        client.add(magnet, { path: target }, (t: any) => t.on('done', () => { clearTimeout(timer); resolve(t) }))
        client.on('error', reject)
      })
      log.info('self-test', `downloaded ${torrent.name} (${torrent.length} bytes) in ${Date.now() - started} ms: metadata from torrent-fish, content from the web seed`)
    }
  } catch (err) {
    ok = false
    log.error('self-test', (err as Error).message)
  } finally {
    await new Promise<void>(resolve => client.destroy(() => resolve()))
    await rm(target, { recursive: true, force: true })
  }
  return ok
}
