/**
 * Browser test harness: Debian's Chromium through playwright-core, the browser bundle (built
 * when src/ is newer than it), and a local environment every page can reach:
 *
 *   const env = await startBrowserEnv()     // ws tracker + web seed + demo/test page server
 *   const browser = await launchChromium()
 *   ...; await browser.close(); await env.close()
 *
 * WebRTC needs non-loopback host candidates (Chromium never gathers loopback ones):
 * test/run.sh runs everything in a network namespace with a veth pair 10.213.0.1/.2, which
 * Chromium uses. Signalling and HTTP stay on 127.0.0.1.
 */
import { before, after } from 'node:test'
import { execFileSync } from 'node:child_process'
import { existsSync, statSync, readdirSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startDemoServer, type DemoServer } from '../../src/node/demo-server.ts'
import { startTracker, type TestTracker } from '../fixtures/tracker.ts'
import { startTestWebSeed, type TestWebSeed } from '../fixtures/web-seed.ts'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const RESULTS = path.join(ROOT, 'test-results')
const BUNDLE = path.join(ROOT, 'dist', 'browser', 'torrent-fish.min.js')
const TEST_BUNDLE = path.join(ROOT, 'dist', 'browser-test', 'conformance.js')

export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-default-apps',
  '--disable-extensions', '--disable-features=WebRtcHideLocalIpsWithMdns'
]

function newestMtime (dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue
    newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/**
 * Builds the browser bundles when src/ (or the conformance suite) changed since the last
 * build. A file lock keeps parallel test files from building at once.
 */
export function ensureBundles (): void {
  const srcTime = Math.max(newestMtime(path.join(ROOT, 'src')), statSync(path.join(ROOT, 'rollup.config.mjs')).mtimeMs)
  const testTime = Math.max(srcTime, newestMtime(path.join(ROOT, 'test', 'conformance')), newestMtime(path.join(ROOT, 'test', 'fixtures')), statSync(path.join(ROOT, 'test', 'browser', 'pages', 'conformance-entry.ts')).mtimeMs)
  const stale = (file: string, since: number): boolean => !existsSync(file) || statSync(file).mtimeMs < since
  if (!stale(BUNDLE, srcTime) && !stale(TEST_BUNDLE, testTime)) return
  execFileSync('flock', [path.join(ROOT, 'node_modules', '.tf-bundle.lock'), process.execPath, path.join(ROOT, 'test', 'browser', 'build-bundles.ts')], { cwd: ROOT, stdio: 'inherit' })
}

export async function launchChromium (): Promise<Browser> {
  return await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
}

export interface BrowserEnv {
  tracker: TestTracker
  seed: TestWebSeed
  web: DemoServer
  /** Demo page URL using the local tracker, no STUN, quick retries. */
  demoUrl: (extra?: Record<string, string>) => string
  close (): Promise<void>
}

export async function startBrowserEnv (): Promise<BrowserEnv> {
  ensureBundles()
  const tracker = await startTracker()
  const seed = await startTestWebSeed()
  const web = await startDemoServer({
    config: { trackers: [tracker.wsUrl], iceServers: [] },
    mounts: {
      '/test/': path.join(ROOT, 'test', 'browser', 'pages'),
      '/vendor/': path.join(ROOT, 'node_modules', 'webtorrent', 'dist'),
      '/dist/browser-test/': path.join(ROOT, 'dist', 'browser-test')
    }
  })
  return {
    tracker,
    seed,
    web,
    demoUrl: (extra = {}) => `${web.url}?${new URLSearchParams({ tracker: tracker.wsUrl, ice: 'none', ...extra })}`,
    async close () {
      await web.close()
      await seed.close()
      await tracker.close()
    }
  }
}

/** Opens the demo page and waits until the tab is a running peer. */
export async function openDemo (page: Page, url: string): Promise<void> {
  page.on('pageerror', err => console.error('[demo page error]', err.message))
  await page.goto(url)
  await page.waitForFunction(() => (window as any).demo?.fish !== undefined)
}

/** Saves a screenshot under test-results/ (kept as a test artifact). */
export async function screenshot (page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS, { recursive: true })
  const file = path.join(RESULTS, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}

/** Opens the WebTorrent leecher page in `page`. */
export async function openLeecher (page: Page, env: BrowserEnv): Promise<void> {
  page.on('pageerror', err => console.error('[leecher page error]', err.message))
  await page.goto(`${env.web.url}test/leecher.html`)
  await page.waitForFunction(() => typeof (window as any).leech === 'function')
}

export interface LeechResult {
  name: string
  /** Downloaded bytes, base64. */
  data: string
  ms: number
  metadataMs: number
  /** Wire types the leecher had: e.g. ['webrtc', 'webSeed']. */
  wires: string[]
}

/** Downloads a magnet in the leecher page; resolves with the first file's bytes. */
export async function leechInPage (page: Page, magnet: string, timeoutMs = 60_000): Promise<LeechResult> {
  return await page.evaluate(([m, t]) => (window as any).leech(m, t), [magnet, timeoutMs] as const)
}

/**
 * One browser environment (tracker, web seed, demo server) and one Chromium for a test file:
 * started before its tests, closed after them. `use` receives both once they are up.
 */
export function useBrowser (use: (env: BrowserEnv, browser: Browser) => void): void {
  let env: BrowserEnv | undefined
  let browser: Browser | undefined
  before(async () => {
    env = await startBrowserEnv()
    browser = await launchChromium()
    use(env, browser)
  })
  after(async () => {
    await browser?.close()
    await env?.close()
  })
}
