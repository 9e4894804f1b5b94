/**
 * An attacker in a worker thread (its own event loop, so the correct leecher measured in the
 * test's thread is not slowed by the flood's JavaScript). Started by startFlood() in load.ts.
 *
 * Modes:
 * - silent:      TCP connections that send nothing, re-opened when closed
 * - drip:        TCP connections that send a handshake one byte every `dripMs`, re-opened when closed
 * - mse-garbage: TCP connections that open with 96+ random bytes (a Diffie-Hellman public key
 *                as far as MSE can tell), churned: re-opened as soon as they close
 * - dribble:     valid handshakes, then a large message sent in 512-byte segments, re-opened when closed
 * - handshake:   valid handshakes, closed on the first answer, `total` connections in all ('done' after)
 * - utp-syn:     raw UDP datagrams crafted as uTP ST_SYN, from many source addresses and ids
 * - http-slow:   HTTP requests that send a request line and then one header byte every `dripMs`,
 *                never the blank line that ends the headers (slowloris), re-opened when closed
 * - http-idle:   HTTP connections that send one whole keep-alive request, read the reply and then
 *                sit idle, never closing (each one a socket and a parser node:http holds), re-opened when closed
 * Source addresses are spread over 127.0.0.0/8 (loopback accepts the whole /8), never 127.0.0.1,
 * which is the correct leecher's.
 */
import { parentPort, workerData } from 'node:worker_threads'
import net from 'node:net'
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'

export interface FloodConfig {
  mode: 'silent' | 'drip' | 'mse-garbage' | 'dribble' | 'utp-syn' | 'handshake' | 'handshake-idle' | 'http-slow' | 'http-idle'
  port: number
  /** Concurrent connections (TCP modes) or source sockets (utp-syn). */
  count: number
  /** Distinct source addresses. */
  sources: number
  infoHash?: string
  dripMs?: number
  /** handshake: connections in all. */
  total?: number
  /** handshake-idle: new connections per second (open loop) instead of re-opening each one. */
  perSecond?: number
  /**
   * TCP modes re-opened when closed (silent, drip, mse-garbage, dribble, http-slow, handshake-idle
   * without `perSecond`) and handshake-idle without `total`: post 'done' once this many connections
   * have opened, and keep going until stopped.
   * utp-syn: post 'done' after this many datagrams and keep sending until stopped (or `packets`).
   */
  doneAt?: number
  /** utp-syn: total datagrams to send at most (default 50,000, or no cap with `doneAt`), and per millisecond. */
  packets?: number
  packetsPerMs?: number
}

const config = workerData as FloodConfig
/** Ready once the first wave is open (or at once for uTP): the test then measures under load. */
const readyAt = Math.min(config.count, 200)
function ready (): void { parentPort!.postMessage({ type: 'ready', stats }) }
const stats = { connects: 0, closes: 0, errors: 0, packets: 0, bytes: 0, skipped: 0 }
let stopping = false
const sockets = new Set<net.Socket>()
const timers: Array<ReturnType<typeof setInterval>> = []

/** The i-th source address: 127.(1..250).x.y, many /24s, never 127.0.0.1. */
function source (i: number): string {
  const n = i % config.sources
  return `127.${1 + (n % 250)}.${Math.floor(n / 250) % 250}.${1 + (Math.floor(n / 62500) % 250)}`
}

function handshakeBytes (infoHash: string): Uint8Array {
  const buf = Buffer.alloc(68)
  buf[0] = 19
  buf.write('BitTorrent protocol', 1, 'latin1')
  buf[25] = 0x10
  buf.write(infoHash, 28, 'hex')
  randomBytes(20).copy(buf, 48)
  return buf
}

function openTcp (i: number, onOpen: (s: net.Socket) => void): void {
  if (stopping) return
  const s = net.connect({ port: config.port, host: '127.0.0.1', localAddress: source(i), noDelay: true })
  sockets.add(s)
  s.on('error', () => { stats.errors++ })
  s.on('data', () => {})
  s.once('connect', () => {
    stats.connects++
    onOpen(s)
    if (stats.connects === readyAt) ready()
    if (stats.connects === config.doneAt) parentPort!.postMessage({ type: 'done', stats })
  })
  s.once('close', () => {
    sockets.delete(s)
    stats.closes++
    // Re-open at once, as an attacker would; on the next turn so a refusal cannot spin the stack.
    if (!stopping) setImmediate(() => openTcp(i, onOpen))
  })
}

function runTcp (): void {
  const hs = handshakeBytes(config.infoHash ?? '00'.repeat(20))
  if (config.mode === 'silent') {
    for (let i = 0; i < config.count; i++) openTcp(i, () => {})
  } else if (config.mode === 'drip') {
    const offsets = new Map<net.Socket, number>()
    for (let i = 0; i < config.count; i++) openTcp(i, s => { offsets.set(s, 0); s.once('close', () => offsets.delete(s)) })
    // One ticker for every dripper: one byte each per period.
    timers.push(setInterval(() => {
      for (const [s, at] of offsets) {
        if (at >= hs.length || s.destroyed) continue
        s.write(hs.subarray(at, at + 1))
        offsets.set(s, at + 1)
      }
    }, config.dripMs ?? 2000))
  } else if (config.mode === 'http-slow') {
    const open = new Set<net.Socket>()
    for (let i = 0; i < config.count; i++) {
      openTcp(i, s => { s.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: '); open.add(s); s.once('close', () => open.delete(s)) })
    }
    timers.push(setInterval(() => { for (const s of open) if (!s.destroyed) s.write('a') }, config.dripMs ?? 2000))
  } else if (config.mode === 'http-idle') {
    for (let i = 0; i < config.count; i++) openTcp(i, s => { s.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n') })
  } else if (config.mode === 'handshake-idle') {
    // A complete handshake and extended handshake (with a ut_metadata id), then nothing: a
    // connection that looks like a leecher and never asks. Re-opened whenever closed.
    const ext = Buffer.from('d1:md11:ut_metadatai3eee', 'latin1')
    const extMsg = Buffer.alloc(6 + ext.length)
    extMsg.writeUInt32BE(2 + ext.length, 0)
    extMsg[4] = 20
    extMsg[5] = 0
    ext.copy(extMsg, 6)
    const opening = Buffer.concat([hs, extMsg])
    if (!config.perSecond) {
      for (let i = 0; i < config.count; i++) openTcp(i, s => { s.write(opening) })
    } else {
      // Open loop, as the bench's handshake flood: perSecond new connections whatever became
      // of the earlier ones (at most `count` open at once), never re-opened.
      let opened = 0
      let open = 0
      const openOne = (i: number): void => {
        const s = net.connect({ port: config.port, host: '127.0.0.1', localAddress: source(i), noDelay: true })
        open++
        sockets.add(s)
        s.on('error', () => { stats.errors++ })
        s.on('data', () => {})
        s.once('connect', () => { stats.connects++; s.write(opening); if (stats.connects === readyAt) ready() })
        s.once('close', () => { sockets.delete(s); open--; stats.closes++ })
      }
      const perTick = Math.max(1, Math.round(config.perSecond / 100))
      timers.push(setInterval(() => {
        for (let k = 0; k < perTick && !stopping; k++) {
          if (config.total !== undefined && opened >= config.total) return
          if (open >= config.count) { stats.skipped++; continue }
          openOne(opened++)
          if (opened === (config.total ?? config.doneAt)) parentPort!.postMessage({ type: 'done', stats })
        }
      }, 10))
    }
  } else if (config.mode === 'mse-garbage') {
    for (let i = 0; i < config.count; i++) {
      openTcp(i, s => {
        // 96 bytes the peer must take for a DH key, then padding; close once it answers.
        const garbage = randomBytes(96 + 64)
        garbage[0] = garbage[0] === 19 ? 20 : garbage[0]
        s.write(garbage)
        s.once('data', () => s.destroy())
      })
    }
  } else if (config.mode === 'handshake') {
    const total = config.total ?? 40_000
    let opened = 0
    let finished = 0
    const next = (i: number): void => {
      if (stopping || opened >= total) return
      opened++
      const s = net.connect({ port: config.port, host: '127.0.0.1', localAddress: source(i), noDelay: true })
      s.on('error', () => { stats.errors++ })
      s.once('connect', () => { stats.connects++; s.write(handshakeBytes(config.infoHash!)); if (stats.connects === readyAt) ready() })
      s.once('data', () => s.destroy())
      s.once('close', () => {
        stats.closes++
        if (++finished === total) parentPort!.postMessage({ type: 'done', stats })
        else setImmediate(() => next(i + config.count))
      })
    }
    for (let i = 0; i < config.count; i++) next(i)
  } else if (config.mode === 'dribble') {
    // A bitfield-sized message (200 KiB) in 512-byte segments, written on a shared ticker.
    const body = Buffer.alloc(4 + 200 * 1024)
    body.writeUInt32BE(body.length - 4, 0)
    body[4] = 5 // bitfield
    const offsets = new Map<net.Socket, number>()
    for (let i = 0; i < config.count; i++) {
      openTcp(i, s => {
        s.write(hs)
        offsets.set(s, 0)
        s.once('close', () => offsets.delete(s))
      })
    }
    timers.push(setInterval(() => {
      for (const [s, at] of offsets) {
        if (s.destroyed || s.writableLength > 4096) continue
        if (at >= body.length) { offsets.delete(s); s.destroy(); continue }
        s.write(body.subarray(at, at + 512))
        stats.bytes += 512
        offsets.set(s, at + 512)
      }
    }, 1))
  }
}

function runUtpSyn (): Promise<void> {
  const socks: dgram.Socket[] = []
  for (let i = 0; i < config.count; i++) {
    const s = dgram.createSocket('udp4')
    s.on('error', () => { stats.errors++ })
    s.bind(0, source(i))
    socks.push(s)
  }
  const total = config.packets ?? (config.doneAt !== undefined ? Infinity : 50_000)
  const perMs = config.packetsPerMs ?? 10
  let sent = 0
  return new Promise(resolve => {
    const t = setInterval(() => {
      for (let k = 0; k < perMs && sent < total && !stopping; k++, sent++) {
        if (sent === config.doneAt) parentPort!.postMessage({ type: 'done', stats })
        // uTP v1 header (BEP 29): type ST_SYN (4) << 4 | version 1, no extension,
        // connection id, timestamps, window, seq_nr, ack_nr.
        const p = Buffer.alloc(20)
        p[0] = 0x41
        p.writeUInt16BE(sent & 0xffff, 2)
        p.writeUInt32BE(Date.now() * 1000 >>> 0, 4)
        p.writeUInt32BE(1 << 20, 12)
        p.writeUInt16BE(1, 16)
        socks[sent % socks.length].send(p, config.port, '127.0.0.1')
        stats.packets++
      }
      if (sent >= total || stopping) {
        clearInterval(t)
        for (const s of socks) s.close()
        resolve()
      }
    }, 1)
    timers.push(t)
  })
}

parentPort!.on('message', (msg: string) => {
  if (msg !== 'stop') return
  stopping = true
  for (const t of timers) clearInterval(t)
  for (const s of sockets) s.destroy()
  parentPort!.postMessage({ type: 'stopped', stats })
})

if (config.mode === 'utp-syn') {
  queueMicrotask(ready)
  void runUtpSyn().then(() => { if (config.doneAt === undefined) parentPort!.postMessage({ type: 'done', stats }) })
} else {
  runTcp()
}
