// Bounded memory with the CLI started as `node bin/torrent-fish.js` (no shebang V8 flags): a
// 40,000-connection handshake flood (400 at a time, from 4,000 loopback addresses) used to
// leave ~170 MiB more RSS behind, which never came back: V8's young generation grew to its
// 128 MiB ceiling and an idle server never shrinks it (see src/node/young-generation.ts).
// Then (session 7) ~+58-62 MiB stayed: old-space garbage promoted from the flood's
// connections, left until a full collection V8 put off to 4x the live size
// (src/node/old-generation.ts). RSS must come back within 64 MiB of where it started once the
// flood ends.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { makeTorrent, writeTorrentFiles } from '../fixtures/torrents.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { BIN } from '../fixtures/cli.ts'
import { startFlood } from './load.ts'

const MiB = 1024 * 1024
function rssMiB (pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
}

test('RSS after a 40k-connection handshake flood comes back within 64 MiB (plain `node bin/torrent-fish.js`)', async (t) => {
  const dir = await tmpDir(t)
  const torrent = await makeTorrent({ name: 'memory', content: new Uint8Array(50_000).fill(6) })
  await writeTorrentFiles(dir, [torrent])
  // Exactly how a supervisor would start it: node, the bin file, flags; no V8 options.
  const child = spawn(process.execPath, [BIN, '-l', dir, '-c', '800', '--no-utp', '--no-dht', '--no-lsd', '--json', '-p', '0', '-i', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(async () => { if (child.exitCode === null) { child.kill('SIGTERM'); await once(child, 'exit') } })
  let port = 0
  for await (const line of createInterface({ input: child.stdout! })) {
    const e = JSON.parse(line)
    if (e.event === 'listening') { port = e.port; break }
  }
  assert.ok(port > 0)
  child.stdout!.resume()

  // Where it starts: serving, after a first few exchanges (code compiled, pools made).
  const warm = await startFlood({ mode: 'handshake', port, count: 100, sources: 100, total: 1000, infoHash: torrent.infoHash })
  await warm.done
  await warm.stop()
  const before = rssMiB(child.pid!)

  const flood = await startFlood({ mode: 'handshake', port, count: 400, sources: 4000, total: 40_000, infoHash: torrent.infoHash })
  let peak = before
  const sampler = setInterval(() => { peak = Math.max(peak, rssMiB(child.pid!)) }, 200) // sampling a figure, not waiting on it
  const stats = await flood.done
  clearInterval(sampler)
  await flood.stop()
  const after = rssMiB(child.pid!)
  t.diagnostic(`RSS before ${before.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB, after ${after.toFixed(0)} MiB (${stats.closes} handshakes)`)
  assert.equal(stats.closes, 40_000)
  assert.equal(child.exitCode, null)
  assert.ok(after - before <= 64, `RSS grew ${(after - before).toFixed(0)} MiB`)
  void MiB
})
