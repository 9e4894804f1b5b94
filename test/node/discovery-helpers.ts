/**
 * Helpers shared by the discovery tests: a WebTorrent leecher that finds peers only the way a
 * test allows, opentracker on loopback, a private DHT of bittorrent-dht nodes, free ports.
 */
import { spawn } from 'node:child_process'
import { chmod, writeFile } from 'node:fs/promises'
import net from 'node:net'
import dgram from 'node:dgram'
import path from 'node:path'
import { readFile } from 'node:fs/promises'
import assert from 'node:assert/strict'
import WebTorrent from 'webtorrent'
import DHT from 'bittorrent-dht'
import { tmpDir, type HasAfter } from '../fixtures/tmp.ts'
import type { FixtureTorrent } from '../fixtures/torrents.ts'

/** Resolves with the first `event` whose args satisfy `match`, or rejects after `ms`. */
export function waitForEvent<T extends unknown[]> (emitter: { on: Function, off: Function }, event: string, match: (...args: T) => boolean = () => true, ms = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { emitter.off(event, on); reject(new Error(`timed out waiting for ${event}`)) }, ms)
    timer.unref() // a wait nobody awaits any more (the test failed) must not hold the process
    const on = (...args: T): void => {
      if (!match(...args)) return
      clearTimeout(timer)
      emitter.off(event, on)
      resolve(args)
    }
    emitter.on(event, on)
  })
}

/** A port free for both TCP and UDP on 127.0.0.1 (for daemons that cannot take port 0). */
export async function freePort (): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)) })
      s.on('error', reject)
    })
    const udpFree = await new Promise<boolean>(resolve => {
      const u = dgram.createSocket('udp4')
      u.once('error', () => resolve(false))
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)))
    })
    if (udpFree) return port
  }
}

export interface OpenTracker {
  port: number
  httpUrl: string
  udpUrl: string
  close: () => Promise<void>
}

/**
 * Debian's opentracker on 127.0.0.1 (HTTP and UDP on one port). Its build only tracks
 * whitelisted info hashes, and as root it must chroot and drop to a user: the whitelist lives
 * in the chroot directory.
 */
export async function startOpenTracker (t: HasAfter, infoHashes: string[]): Promise<OpenTracker> {
  const dir = await tmpDir(t, 'opentracker')
  await chmod(dir, 0o755)
  await writeFile(path.join(dir, 'whitelist.txt'), infoHashes.map(h => h + '\n').join(''), { mode: 0o644 })
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const child = spawn('opentracker', ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', dir, '-u', 'nobody', '-w', '/whitelist.txt'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr!.on('data', d => { stderr += String(d) })
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
    const close = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    }
    // Ready when it answers HTTP (an unknown hash gets a failure reason, which is an answer).
    const deadline = Date.now() + 5000
    let ready = false
    while (Date.now() < deadline && child.exitCode === null) {
      ready = await new Promise<boolean>(resolve => {
        const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
        s.on('error', () => resolve(false))
      })
      if (ready) break
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    if (ready) {
      t.after(close)
      return { port, httpUrl: `http://127.0.0.1:${port}/announce`, udpUrl: `udp://127.0.0.1:${port}/announce`, close }
    }
    await close()
    if (attempt >= 3) throw new Error(`opentracker did not start: ${stderr}`)
  }
}

export interface PrivateDht {
  nodes: any[]
  /** `host:port` of every node, for bootstrap lists. */
  addresses: string[]
  close: () => Promise<void>
}

/** `count` bittorrent-dht nodes on 127.0.0.1 that know each other and nobody else. */
export async function startPrivateDht (t: HasAfter, count = 4): Promise<PrivateDht> {
  const nodes: any[] = []
  for (let i = 0; i < count; i++) {
    const node = new DHT({ bootstrap: false, host: '127.0.0.1' })
    node.on('warning', () => {})
    await new Promise<void>(resolve => node.listen(0, '127.0.0.1', () => resolve()))
    nodes.push(node)
  }
  // Everyone pings everyone once: a complete little routing table.
  await Promise.all(nodes.flatMap(a => nodes.filter(b => b !== a).map(b => new Promise<void>(resolve => {
    a.addNode({ host: '127.0.0.1', port: b.address().port })
    waitForEvent(a, 'node', (n: any) => n.port === b.address().port, 5000).then(() => resolve(), () => resolve())
  }))))
  const close = async (): Promise<void> => { await Promise.all(nodes.map(n => new Promise<void>(resolve => n.destroy(() => resolve())))) }
  t.after(close)
  return { nodes, addresses: nodes.map(n => `127.0.0.1:${n.address().port}`), close }
}

/** Peers a DHT node stores for an info hash (from announce_peer messages it received). */
export function dhtStoredPeers (node: any, infoHash: string): string[] {
  const values: Buffer[] = node._peers.get(infoHash, 100) ?? []
  return values.map(v => `${v[0]}.${v[1]}.${v[2]}.${v[3]}:${v.readUInt16BE(4)}`)
}

export interface LeechOptions {
  /** WebTorrent client options (which discovery it may use). */
  client: Record<string, unknown>
  magnet: string
  torrent: FixtureTorrent
  /** Give up after this long. */
  timeoutMs?: number
}

/**
 * Downloads `magnet` with a fresh WebTorrent client and checks the bytes; resolves with the
 * addresses of the peers it had wires to and the time taken.
 */
export async function leechWithWebTorrent (t: HasAfter, options: LeechOptions): Promise<{ wires: string[], ms: number }> {
  const dir = await tmpDir(t, 'leech')
  const client = new WebTorrent({ natUpnp: false, natPmp: false, ...options.client } as any)
  t.after(() => new Promise<void>(resolve => client.destroy(() => resolve())))
  const wires: string[] = []
  const started = Date.now()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`WebTorrent did not finish within ${options.timeoutMs ?? 60_000} ms (wires: ${wires.join(', ') || 'none'})`)), options.timeoutMs ?? 60_000)
    client.on('error', (err: Error) => { clearTimeout(timer); reject(err) })
    const wt = client.add(options.magnet, { path: dir })
    wt.on('error', (err: Error) => { clearTimeout(timer); reject(err) })
    wt.on('wire', (_wire: unknown, addr: string) => { wires.push(addr) })
    wt.on('done', () => { clearTimeout(timer); resolve() })
  })
  const ms = Date.now() - started
  const { torrent } = options
  for (const f of torrent.content) {
    const file = torrent.multiFile ? path.join(dir, torrent.name, ...f.path.split('/')) : path.join(dir, torrent.name)
    const got = await readFile(file)
    assert.ok(Buffer.from(f.data).equals(got), `${f.path}: downloaded bytes differ`)
  }
  return { wires, ms }
}
