/**
 * The reference responder: the least Node can do per metadata exchange, as a floor for
 * torrent-fish's figures. `node:net` only, no streams library, no Wire, no per-connection
 * objects beyond the socket and one closure; the handshake reply (BitTorrent handshake +
 * extended handshake) is encoded once per torrent at load; each `data` event is answered
 * with at most one `write`. It does only what the load generator's exchange needs (BEP 3
 * handshake, BEP 10 extended handshake, BEP 9 requests) and checks nothing else: it is a
 * measuring stick, never a peer to deploy.
 *
 *   node bench/ref-responder.ts -l DIR [-p PORT]
 * Prints {"event":"loaded",...} and {"event":"listening","transport":"tcp","port":P} like
 * the CLI's --json log, so bench/peers.ts starts it the same way.
 */
import net from 'node:net'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { parseTorrent } from '../src/core/torrent.ts'

const PIECE = 16 * 1024
const PSTR = Buffer.from('\x13BitTorrent protocol', 'latin1')
/** Our ut_metadata id in the extended handshake we send. */
const OUR_UT = 3

interface Entry {
  info: Buffer
  /** 68-byte handshake (without the info hash filled per peer: we echo theirs) + extended handshake message. */
  hello: Buffer
}

function extendedHandshake (size: number): Buffer {
  const dict = Buffer.from(`d1:md11:ut_metadatai${OUR_UT}ee13:metadata_sizei${size}e1:v13:ref-responder4:reqqi250ee`, 'latin1')
  const msg = Buffer.allocUnsafe(6 + dict.length)
  msg.writeUInt32BE(2 + dict.length, 0)
  msg[4] = 20
  msg[5] = 0
  dict.copy(msg, 6)
  return msg
}

const { values } = parseArgs({ options: { 'load-path': { type: 'string', short: 'l' }, port: { type: 'string', short: 'p', default: '0' } } })
const started = performance.now()
const torrents = new Map<string, Entry>()
const reserved = Buffer.alloc(8)
reserved[5] |= 0x10
const peerId = Buffer.from('-RF0001-000000000000', 'latin1')
let failed = 0
for (const name of readdirSync(values['load-path']!)) {
  if (!name.endsWith('.torrent')) continue
  try {
    const p = await parseTorrent(readFileSync(path.join(values['load-path']!, name)))
    const info = Buffer.from(p.infoBytes)
    const hash = Buffer.from(p.infoHash, 'hex')
    const hello = Buffer.concat([PSTR, reserved, hash, peerId, extendedHandshake(info.length)])
    torrents.set(hash.toString('latin1'), { info, hello })
  } catch { failed += 1 }
}
process.stdout.write(JSON.stringify({ event: 'loaded', loaded: torrents.size, failed, ms: performance.now() - started }) + '\n')

/** Parses the integer after `key` in a small bencoded dict; -1 when absent. */
function intAfter (buf: Buffer, start: number, end: number, key: string): number {
  const at = buf.indexOf(key, start, 'latin1')
  if (at < 0 || at >= end || buf[at + key.length] !== 0x69) return -1
  let n = 0
  for (let i = at + key.length + 1; i < end && buf[i] !== 0x65; i++) n = n * 10 + buf[i] - 0x30
  return n
}

function dataMessage (theirId: number, piece: number, info: Buffer): Buffer {
  const start = piece * PIECE
  const len = Math.min(PIECE, info.length - start)
  const head = `d8:msg_typei1e5:piecei${piece}e10:total_sizei${info.length}ee`
  const out = Buffer.allocUnsafe(6 + head.length + len)
  out.writeUInt32BE(2 + head.length + len, 0)
  out[4] = 20
  out[5] = theirId
  out.write(head, 6, 'latin1')
  info.copy(out, 6 + head.length, start, start + len)
  return out
}

const server = net.createServer({ noDelay: true }, socket => {
  let buf: Buffer | null = null
  let entry: Entry | undefined
  let theirUt = 0
  socket.on('error', () => {})
  socket.on('data', (chunk: Buffer) => {
    buf = buf === null ? chunk : Buffer.concat([buf, chunk])
    const out: Buffer[] = []
    let at = 0
    if (entry === undefined) {
      if (buf.length < 68) return
      entry = torrents.get(buf.toString('latin1', 28, 48))
      if (!entry) { socket.destroy(); return }
      out.push(entry.hello)
      at = 68
    }
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at)
      if (buf.length - at < 4 + len) break
      if (len >= 2 && buf[at + 4] === 20) {
        const ext = buf[at + 5]
        if (ext === 0) theirUt = intAfter(buf, at + 6, at + 4 + len, '11:ut_metadata')
        else if (ext === OUR_UT && theirUt > 0) {
          const piece = intAfter(buf, at + 6, at + 4 + len, '5:piece')
          if (piece >= 0 && piece * PIECE < entry.info.length) out.push(dataMessage(theirUt, piece, entry.info))
        }
      }
      at += 4 + len
    }
    buf = at === buf.length ? null : buf.subarray(at)
    if (out.length === 1) socket.write(out[0])
    else if (out.length > 1) socket.write(Buffer.concat(out))
  })
})
server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address() as net.AddressInfo
  process.stdout.write(JSON.stringify({ event: 'listening', transport: 'tcp', address: address.address, port: address.port }) + '\n')
})
const stop = (): void => { server.close(); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
