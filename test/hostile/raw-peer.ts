/**
 * A hostile peer at the byte level: every frame is built by hand, so a test can send exactly
 * what a broken or malicious client would (an extension id of 0 or 256, a piece index that
 * is a string, a second extended handshake), and read back exactly what torrent-fish sent.
 *
 *   const p = await RawPeer.connect(port, { localAddress: '127.3.4.5' })
 *   p.send(handshake(infoHash))
 *   const ext = await p.extendedHandshake()        // torrent-fish's, decoded
 *   p.send(extended(0, { m: { ut_metadata: 0 } }))
 *   p.send(extended(ext.m.ut_metadata, { msg_type: 0, piece: 0 }))
 *   await p.closed                                  // torrent-fish closed the connection
 *   p.frames                                        // every frame received: { id, payload }
 */
import net from 'node:net'
import bencode from 'bencode'

const PSTR = new TextEncoder().encode('BitTorrent protocol')

export function hexToBytes (hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, h => parseInt(h, 16))
}

/** A BitTorrent handshake with the extension protocol and fast bits set. */
export function handshake (infoHash: string, options: { extended?: boolean, fast?: boolean } = {}): Uint8Array {
  const buf = new Uint8Array(68)
  buf[0] = 19
  buf.set(PSTR, 1)
  if (options.extended !== false) buf[20 + 5] |= 0x10
  if (options.fast !== false) buf[20 + 7] |= 0x04
  buf.set(hexToBytes(infoHash), 28)
  buf.set(new TextEncoder().encode('-HO0001-'), 48)
  for (let i = 56; i < 68; i++) buf[i] = (i * 37) & 0xff
  return buf
}

/** A length-prefixed message. */
export function frame (id: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const buf = new Uint8Array(5 + payload.length)
  new DataView(buf.buffer).setUint32(0, 1 + payload.length)
  buf[4] = id
  buf.set(payload, 5)
  return buf
}

/** An extended message (BEP 10): id 20, then the extension id, then the payload. */
export function extended (extId: number, payload: Record<string, unknown> | Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload instanceof Uint8Array ? payload : bencode.encode(payload)
  const buf = new Uint8Array(1 + body.length)
  buf[0] = extId
  buf.set(body, 1)
  return frame(20, buf)
}

export interface Frame { id: number, payload: Uint8Array }

export class RawPeer {
  readonly socket: net.Socket
  /** Our end's port (kept: a closed socket forgets it), which torrent-fish reports as remotePort. */
  readonly localPort: number
  readonly frames: Frame[] = []
  gotHandshake = false
  readonly closed: Promise<void>
  private buffer = new Uint8Array(0)
  private readonly waiters = new Set<() => void>()

  private constructor (socket: net.Socket) {
    this.socket = socket
    this.localPort = socket.localPort!
    this.closed = new Promise(resolve => socket.once('close', () => { this.wake(); resolve() }))
    socket.on('error', () => {})
    socket.on('data', (chunk: Uint8Array) => this.onData(chunk))
  }

  static connect (port: number, options: { host?: string, localAddress?: string } = {}): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: options.host ?? '127.0.0.1', localAddress: options.localAddress, noDelay: true })
      socket.once('connect', () => { socket.off('error', reject); resolve(new RawPeer(socket)) })
      socket.once('error', reject)
    })
  }

  send (...chunks: Uint8Array[]): void {
    for (const c of chunks) this.socket.write(c)
  }

  /** Resolves with the first frame (received already or later) that matches; rejects on close. */
  async frameWhere (match: (f: Frame) => boolean, what = 'frame'): Promise<Frame> {
    for (;;) {
      const found = this.frames.find(match)
      if (found) return found
      if (this.socket.destroyed) throw new Error(`connection closed before ${what}`)
      await new Promise<void>(resolve => { const w = (): void => { this.waiters.delete(w); resolve() }; this.waiters.add(w) })
    }
  }

  /** torrent-fish's extended handshake, decoded. */
  async extendedHandshake (): Promise<Record<string, any>> {
    const f = await this.frameWhere(f => f.id === 20 && f.payload[0] === 0, 'extended handshake')
    return bencode.decode(f.payload.subarray(1))
  }

  /** Extended messages received on extension id `extId`, decoded (the dict only). */
  extendedOn (extId: number): Array<Record<string, any>> {
    return this.frames.filter(f => f.id === 20 && f.payload[0] === extId).map(f => bencode.decode(f.payload.subarray(1)))
  }

  destroy (): void { this.socket.destroy() }

  private onData (chunk: Uint8Array): void {
    const joined = new Uint8Array(this.buffer.length + chunk.length)
    joined.set(this.buffer, 0)
    joined.set(chunk, this.buffer.length)
    let at = 0
    if (!this.gotHandshake) {
      if (joined.length < 68) { this.buffer = joined; return }
      this.gotHandshake = true
      at = 68
    }
    const view = new DataView(joined.buffer, joined.byteOffset, joined.byteLength)
    while (joined.length - at >= 4) {
      const len = view.getUint32(at)
      if (joined.length - at - 4 < len) break
      if (len > 0) this.frames.push({ id: joined[at + 4], payload: joined.slice(at + 5, at + 4 + len) })
      at += 4 + len
    }
    this.buffer = joined.slice(at)
    this.wake()
  }

  private wake (): void {
    for (const w of [...this.waiters]) w()
  }
}
