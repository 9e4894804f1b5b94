/**
 * Benchmark: one Chromium tab (the demo page) holding 1,000 torrents.
 *   - idle RTCPeerConnections (goal 0): counted by wrapping the page's RTCPeerConnection;
 *   - memory: JS heap of the tab with 1,000 torrents vs. the same page empty (baseline, same run);
 *   - time to announce them all over one WebSocket;
 *   - time for a WebTorrent leecher in another tab to get a torrent's metadata from it.
 *
 *   node bench/browser-tab.ts [--torrents 1000] [--leechers 5]
 *
 * Re-runs itself in a network namespace (as test/run.sh does) so Chromium has non-loopback
 * host candidates that stay on this machine.
 */
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import type { Page } from 'playwright-core'
import { makeTorrent } from '../test/fixtures/memory-torrents.ts'
import { launchChromium, openDemo, openLeecher, startBrowserEnv } from '../test/browser/harness.ts'

if (!process.env.TF_IN_NETNS && process.getuid?.() === 0) {
  const inner = 'ip link set lo up; ip link add tfv0 type veth peer name tfv1; ip addr add 10.213.0.1/24 dev tfv0; ip addr add 10.213.0.2/24 dev tfv1; ip link set tfv0 up; ip link set tfv1 up; ip route add default via 10.213.0.2 dev tfv0; exec "$0" "$@"'
  execFileSync('unshare', ['-n', 'sh', '-c', inner, process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, TF_IN_NETNS: '1' } })
  process.exit(0)
}

const { values } = parseArgs({ options: { torrents: { type: 'string', default: '1000' }, leechers: { type: 'string', default: '5' } } })
const N = Number(values.torrents)
const LEECHERS = Number(values.leechers)

// Counts RTCPeerConnections the page creates and has not closed.
const COUNT_PCS = `(() => {
  const Native = window.RTCPeerConnection
  window.__pcs = { created: 0, open: 0 }
  window.RTCPeerConnection = class extends Native {
    constructor (...a) { super(...a); window.__pcs.created++; window.__pcs.open++; this.__open = true }
    close () { if (this.__open) { this.__open = false; window.__pcs.open-- } return super.close() }
  }
})()`

async function heapMb (page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('HeapProfiler.collectGarbage')
  await cdp.send('Performance.enable')
  const { metrics } = await cdp.send('Performance.getMetrics')
  await cdp.detach()
  return (metrics.find(m => m.name === 'JSHeapUsedSize')?.value ?? 0) / 1024 / 1024
}

const env = await startBrowserEnv()
const browser = await launchChromium()
try {
  const context = await browser.newContext()
  await context.addInitScript(COUNT_PCS)
  const tab = await context.newPage()
  await openDemo(tab, env.demoUrl())
  await tab.waitForSelector('#tracker-status[data-state="open"]')
  const baseline = await heapMb(tab)

  const torrents = Array.from({ length: N }, (_, i) => makeTorrent({ name: `bench-${i}.bin`, pieces: 8 }))
  const started = Date.now()
  const hashes: string[] = await tab.evaluate(async (list) => {
    const out = []
    for (const [i, b64] of list.entries()) {
      const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0))
      const record = await (window as any).demo.addBytes(bytes, `bench-${i}.torrent`, { persist: false })
      out.push(record.infoHash)
    }
    return out
  }, torrents.map(t => Buffer.from(t.torrentBytes).toString('base64')))
  const loadedMs = Date.now() - started
  while (Object.keys(env.tracker.server.torrents).length < N) await once(env.tracker.server, 'start')
  const announcedMs = Date.now() - started
  await new Promise(resolve => setTimeout(resolve, 2000)) // let anything that would linger show up
  const idle = await tab.evaluate(() => ({ pcs: (window as any).__pcs, stats: (window as any).demo.fish.webrtc.stats() }))
  const loaded = await heapMb(tab)

  const leecherContext = await browser.newContext()
  const leecher = await leecherContext.newPage()
  await openLeecher(leecher, env)
  const times: number[] = []
  for (let i = 0; i < LEECHERS; i++) {
    const infoHash = hashes[Math.floor((i + 0.5) * N / LEECHERS)]
    const magnet = `magnet:?xt=urn:btih:${infoHash}&tr=${encodeURIComponent(env.tracker.wsUrl)}`
    times.push(await leecher.evaluate(([m]) => (window as any).fetchMetadata(m, 30_000), [magnet] as const))
  }
  times.sort((a, b) => a - b)
  await new Promise(resolve => setTimeout(resolve, 1000))
  const after = await tab.evaluate(() => ({ pcs: (window as any).__pcs, served: (window as any).demo.fish.getStats().metadataServed }))

  const report = {
    torrents: N,
    sockets: idle.stats.trackers.length,
    loadMs: loadedMs,
    announceAllMs: announcedMs,
    idleRtcPeerConnections: idle.pcs.open,
    rtcPeerConnectionsCreatedWhileIdle: idle.pcs.created,
    heapEmptyMb: +baseline.toFixed(1),
    heapWithTorrentsMb: +loaded.toFixed(1),
    heapPerTorrentKb: +((loaded - baseline) * 1024 / N).toFixed(2),
    leecherMetadataMs: { median: Math.round(times[Math.floor(times.length / 2)]), min: Math.round(times[0]), max: Math.round(times[times.length - 1]) },
    servedMetadata: after.served,
    rtcPeerConnectionsOpenAfterLeechers: after.pcs.open
  }
  console.log(JSON.stringify(report, null, 2))
} finally {
  await browser.close()
  await env.close()
}
