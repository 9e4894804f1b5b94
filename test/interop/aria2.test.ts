/**
 * Interop with aria2 (Debian's aria2c 1.36): `aria2c --bt-metadata-only --bt-save-metadata`
 * with only a magnet gets the metadata from a torrent-fish CLI child process and saves it as a
 * .torrent; the info dict in that file must be byte-identical to the original.
 *
 * aria2 cannot be given a peer address and ignores `ws=`, so it finds torrent-fish through a
 * tracker: a local bittorrent-tracker (HTTP and UDP). Either our fixture announces torrent-fish's
 * address for it (announceFor) or torrent-fish announces itself (`--tracker`). aria2's LPD and
 * PEX are off and its DHT has no nodes (it is on only for the UDP tracker, which aria2 speaks
 * through its DHT socket), so the tracker is its only source of peers.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import {
  bigInfoTorrent, infoBytesOf, magnetFor, multiFileTorrent, unsortedInfoTorrent, writeTorrentFiles, type FixtureTorrent
} from '../fixtures/torrents.ts'
import { spawnCli, type CliProcess } from '../fixtures/cli.ts'
import { startTracker, announceFor, type TestTracker } from '../fixtures/tracker.ts'
import { tmpDir, removeDir } from '../fixtures/tmp.ts'

const run = promisify(execFile)

let dir: string
let tracker: TestTracker
let fish: CliProcess
const torrents: Record<string, FixtureTorrent> = {}

before(async () => {
  dir = await tmpDir(undefined, 'aria2')
  tracker = await startTracker()
  torrents.big = await bigInfoTorrent({ name: 'aria2-big-info' })
  torrents.unsorted = await unsortedInfoTorrent({ name: 'aria2-unsorted.bin' })
  torrents.multi = await multiFileTorrent({ name: 'aria2-multi' })
  await writeTorrentFiles(path.join(dir, 'load'), Object.values(torrents))
  fish = await spawnCli(['-l', path.join(dir, 'load')])
})

after(async () => {
  const code = await fish?.stop()
  await tracker?.close()
  await removeDir(dir)
  assert.equal(code, 0, 'torrent-fish exits 0 on SIGTERM')
})

/** Runs aria2c for the magnet; resolves with the saved .torrent's bytes and the time taken. */
async function aria2Metadata (torrent: FixtureTorrent, trackerUrl: string): Promise<{ saved: Uint8Array, ms: number }> {
  const out = await tmpDir(undefined, 'aria2-out')
  // aria2 speaks UDP tracker only through its DHT socket, so a udp:// tracker needs the DHT on.
  // With a fresh routing-table file and no entry point it has no node to contact.
  const dht = trackerUrl.startsWith('udp:')
    ? ['--enable-dht=true', `--dht-file-path=${path.join(out, 'dht.dat')}`, '--dht-listen-port=6881-6999']
    : ['--enable-dht=false']
  const started = Date.now()
  try {
    await run('aria2c', [
      '--no-conf',
      '--bt-metadata-only=true',
      '--bt-save-metadata=true',
      `--dir=${out}`,
      `--bt-tracker=${trackerUrl}`,
      ...dht,
      '--enable-dht6=false',
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      '--bt-stop-timeout=30', // give up (non-zero exit) instead of waiting forever
      '--console-log-level=warn',
      '--summary-interval=0',
      '--download-result=hide',
      magnetFor(torrent)
    ], { timeout: 45_000 }).catch((err: { stdout?: string, stderr?: string, message: string }) => {
      throw new Error(`aria2c failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`)
    })
    const ms = Date.now() - started
    const saved = new Uint8Array(await readFile(path.join(out, `${torrent.infoHash}.torrent`)))
    return { saved, ms }
  } finally {
    await removeDir(out)
  }
}

async function check (t: { diagnostic: (s: string) => void }, torrent: FixtureTorrent, trackerUrl: string): Promise<void> {
  const served = fish.waitFor('metadata-served', e => e.infoHash === torrent.infoHash, 45_000)
  served.catch(() => {}) // awaited below; a failure of aria2 itself is the error to report
  const { saved, ms } = await aria2Metadata(torrent, trackerUrl)
  const savedInfo = await infoBytesOf(saved)
  assert.ok(Buffer.from(savedInfo).equals(torrent.infoBytes), 'the info dict aria2 saved is byte-identical to the original')
  assert.ok(Buffer.from(savedInfo).equals(await infoBytesOf(torrent.torrentBytes)))
  const e = await served
  assert.equal(e.peer.transport, 'tcp')
  t.diagnostic(`${torrent.name}: info ${torrent.infoBytes.length} bytes, aria2c ran ${ms} ms`)
}

test('aria2 gets metadata > 16 KiB via an HTTP tracker', { timeout: 60_000 }, async t => {
  const a = await announceFor(tracker.httpUrl, torrents.big.infoHash, fish.port)
  t.after(() => a.stop())
  await check(t, torrents.big, tracker.httpUrl)
})

test('aria2 gets unsorted-key metadata via a UDP tracker', { timeout: 60_000 }, async t => {
  const a = await announceFor(tracker.udpUrl, torrents.unsorted.infoHash, fish.port)
  t.after(() => a.stop())
  await check(t, torrents.unsorted, tracker.udpUrl)
})

test('aria2 finds torrent-fish through torrent-fish\'s own announce (--tracker)', { timeout: 60_000 }, async t => {
  const own = await spawnCli(['-l', path.join(dir, 'load'), '--tracker', tracker.httpUrl])
  t.after(() => own.stop())
  await tracker.waitForPeer(torrents.multi.infoHash, own.port)
  const served = own.waitFor('metadata-served', e => e.infoHash === torrents.multi.infoHash, 45_000)
  served.catch(() => {})
  const { saved, ms } = await aria2Metadata(torrents.multi, tracker.httpUrl)
  assert.ok(Buffer.from(await infoBytesOf(saved)).equals(torrents.multi.infoBytes))
  await served
  t.diagnostic(`${torrents.multi.name}: aria2c ran ${ms} ms`)
})
