/**
 * Interop with Transmission (Debian's transmission-cli 3.00): with only a magnet whose `tr=` is a
 * local tracker, Transmission finds a torrent-fish CLI child process, gets the metadata and
 * saves it as `<config>/torrents/<infohash>.torrent`; its info dict must be the original bytes.
 *
 * Transmission treats 127.0.0.0/8 as a "martian" address and never connects to a peer there,
 * and transmission-cli 3.00 reads no `x.pe=`. So torrent-fish, the tracker and Transmission talk
 * over 10.213.0.1, the address test/run.sh gives the private network namespace the suite runs in
 * (nothing outside the namespace is reachable). DHT, LPD, PEX, uTP and port mapping are off in
 * Transmission's settings, so the tracker is its only source of peers. The second test requires
 * encryption (`-er`): a third independent MSE/PE implementation against our incoming path.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import bencode from 'bencode'
import { parseTorrent, type ParsedTorrent } from '../../src/core/torrent.ts'
import {
  bigInfoTorrent, magnetFor, singleFileTorrent, unsortedInfoTorrent, writeTorrentFiles, type FixtureTorrent
} from '../fixtures/torrents.ts'
import { spawnCli, type CliProcess } from '../fixtures/cli.ts'
import { startTracker, announceFor, type TestTracker } from '../fixtures/tracker.ts'
import { tmpDir, removeDir, type HasAfter } from '../fixtures/tmp.ts'

function escape (s: string): string { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') }

/** The namespace addresses test/run.sh sets up (see the header): torrent-fish and the tracker on one, */
const HOST = '10.213.0.1'
/**
 * Transmission on the other. bittorrent-tracker lists an announcing peer to itself, and
 * Transmission 3.00 keeps one candidate per IP address, not per address and port: with both
 * on one address, a tracker reply that lists Transmission first leaves it dialling itself
 * ("we've connected to ourselves") and never torrent-fish (one run in about four timed out).
 * `bind-address-ipv4` moves its listener, its outgoing connections and its announces there.
 */
const TRANSMISSION_HOST = '10.213.0.2'

let dir: string
let tracker: TestTracker
let fish: CliProcess
const torrents: Record<string, FixtureTorrent> = {}

before(async () => {
  const local = new Set(Object.values(os.networkInterfaces()).flat().map(a => a?.address))
  if (!local.has(HOST) || !local.has(TRANSMISSION_HOST)) throw new Error(`${HOST} and ${TRANSMISSION_HOST} are not both local addresses: run this file with bash test/run.sh (it needs the test network namespace)`)
  dir = await tmpDir(undefined, 'transmission')
  tracker = await startTracker(undefined, HOST)
  torrents.single = await singleFileTorrent({ name: 'tr-single.bin' })
  torrents.big = await bigInfoTorrent({ name: 'tr-big-info' })
  torrents.unsorted = await unsortedInfoTorrent({ name: 'tr-unsorted.bin' })
  await writeTorrentFiles(path.join(dir, 'load'), Object.values(torrents))
  fish = await spawnCli(['-l', path.join(dir, 'load'), '-i', HOST])
})

after(async () => {
  const code = await fish?.stop()
  await tracker?.close()
  await removeDir(dir)
  assert.equal(code, 0, 'torrent-fish exits 0 on SIGTERM')
})

/**
 * Runs transmission-cli on the magnet until a .torrent it saves holds an info dict (it logs
 * `Saved ".../torrents/<hash>.torrent"` once for the bare magnet and again with the metadata);
 * then stops it. Resolves with that file's bytes and the time taken.
 */
async function transmissionMetadata (t: HasAfter, torrent: FixtureTorrent, extraArgs: string[] = []): Promise<{ saved: Uint8Array, ms: number }> {
  const config = await tmpDir(t, 'transmission-cfg')
  await writeFile(path.join(config, 'settings.json'), JSON.stringify({
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    'utp-enabled': false,
    'port-forwarding-enabled': false,
    'blocklist-enabled': false,
    'bind-address-ipv4': TRANSMISSION_HOST,
    'peer-port-random-on-start': true,
    'peer-port-random-low': 20000,
    'peer-port-random-high': 30000,
    'message-level': 3, // debug: the "Saved ..." lines we wait for
    'start-added-torrents': true
  }))
  const started = Date.now()
  const child = spawn('transmission-cli', ['-g', config, '-w', path.join(config, 'download'), '-M', ...extraArgs, magnetFor(torrent, { trackers: [tracker.httpUrl] })], { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  t.after(async () => { child.kill('SIGKILL'); await exited })
  const log: string[] = []
  const bytes = await new Promise<Uint8Array>((resolve, reject) => {
    // A deadline, not a wait: Transmission 3.00 backs off between attempts at a peer (the first
    // torrent of a run takes ~6 s here, later ones ~3.7 s), and a busy CI machine stretches that.
    const timer = setTimeout(() => reject(new Error(`transmission-cli got no metadata in 75 s:\n${log.slice(-12).join('\n')}\ntorrent-fish's last log events:\n${fish.events.slice(-15).map(e => JSON.stringify(e)).join('\n')}`)), 75_000)
    // Reads of files it said it saved: Transmission 3.00 can abort right after saving (seen:
    // "double free or corruption" while pausing the unsorted-keys torrent it re-hashed), and
    // the exit must not beat the read of a file that already holds the metadata.
    const reads: Array<Promise<void>> = []
    child.once('exit', (code, signal) => {
      void Promise.allSettled(reads).then(() => {
        clearTimeout(timer)
        reject(new Error(`transmission-cli exited (${code ?? signal}) without saving the metadata:\n${log.slice(-12).join('\n')}`))
      })
    })
    createInterface({ input: child.stderr! }).on('line', line => {
      log.push(line)
      // Any torrents/*.torrent: for a non-canonical info dict Transmission files the metadata
      // under another hash (see the last test).
      const file = new RegExp(`Saved "(${escape(path.join(config, 'torrents'))}/[0-9a-f]{40}\\.torrent)"`).exec(line)?.[1]
      if (!file) return
      reads.push(readFile(file).then(async b => {
        const parsed = await parseTorrent(new Uint8Array(b)).catch(() => null) // the bare magnet has no info yet
        if (parsed) { clearTimeout(timer); resolve(new Uint8Array(b)) }
      }, () => {}))
    })
  })
  const ms = Date.now() - started
  child.kill('SIGTERM')
  await exited
  return { saved: bytes, ms }
}

async function check (t: HasAfter & { diagnostic: (s: string) => void }, torrent: FixtureTorrent, extraArgs: string[] = []): Promise<ParsedTorrent> {
  const a = await announceFor(tracker.httpUrl, torrent.infoHash, fish.port)
  t.after(() => a.stop())
  const served = fish.waitFor('metadata-served', e => e.infoHash === torrent.infoHash, 75_000)
  served.catch(() => {})
  const { saved, ms } = await transmissionMetadata(t, torrent, extraArgs)
  const e = await served
  assert.equal(e.peer.remoteAddress, TRANSMISSION_HOST, 'the connection came from Transmission')
  const parsed = await parseTorrent(saved)
  t.diagnostic(`${torrent.name}: info ${torrent.infoBytes.length} bytes, transmission-cli had it after ${ms} ms`)
  return parsed
}

test('Transmission gets metadata > 16 KiB; the info dict it saves is byte-identical', { timeout: 120_000 }, async t => {
  const saved = await check(t, torrents.big)
  assert.equal(saved.infoHash, torrents.big.infoHash)
  assert.ok(Buffer.from(saved.infoBytes).equals(torrents.big.infoBytes))
})

test('Transmission with encryption required (-er)', { timeout: 120_000 }, async t => {
  const saved = await check(t, torrents.single, ['-er'])
  assert.equal(saved.infoHash, torrents.single.infoHash)
  assert.ok(Buffer.from(saved.infoBytes).equals(torrents.single.infoBytes))
})

test('Transmission accepts an info dict with unsorted keys (and re-sorts it: its bug, not ours)', { timeout: 120_000 }, async t => {
  // Transmission checks the SHA-1 of the metadata bytes it received before using them, so
  // getting here means we served the exact bytes. Transmission 3.00 then re-encodes the dict
  // with sorted keys and files the torrent under the SHA-1 of that re-encoding: a different
  // info hash. The content of the dict is the same.
  const saved = await check(t, torrents.unsorted)
  assert.deepEqual(bencode.decode(saved.infoBytes), bencode.decode(torrents.unsorted.infoBytes))
  t.diagnostic(`Transmission filed it as ${saved.infoHash} (original ${torrents.unsorted.infoHash})`)
})
