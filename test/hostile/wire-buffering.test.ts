// Linear buffering: a message arriving in 512-byte segments is joined once, when complete,
// not re-concatenated on every segment (the base Wire copies its whole buffer per chunk,
// quadratic in the message size). Checked on the buffer itself, not with a timer.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import Wire from 'bittorrent-protocol'
import { GuardedWire } from '../../src/core/wire.ts'
import { handshake, frame } from './raw-peer.ts'

function feed (wire: any, bytes: Uint8Array, segment: number, onChunk?: (i: number) => void): void {
  for (let at = 0, i = 0; at < bytes.length; at += segment, i++) {
    wire._write(bytes.subarray(at, at + segment), () => {})
    onChunk?.(i)
  }
}

test('a 200 KiB message in 512-byte segments is kept as a list of chunks and joined once', () => {
  const body = new Uint8Array(200 * 1024).map((_, i) => i & 0xff)
  const message = frame(5, body) // bitfield
  for (const [name, wire] of [['GuardedWire', new GuardedWire('tcpIncoming', 0)], ['base Wire', new Wire('tcpIncoming', 0)]] as const) {
    const w = wire as any
    let bitfield: Uint8Array | null = null
    w.on('bitfield', (bf: { buffer: Uint8Array }) => { bitfield = bf.buffer })
    w._write(handshake('11'.repeat(20)), () => {})
    let maxChunks = 0
    feed(w, message, 512, () => { maxChunks = Math.max(maxChunks, w._buffer.length) })
    assert.ok(bitfield, `${name}: the message was parsed`)
    assert.deepEqual(Buffer.from(bitfield!), Buffer.from(body), `${name}: byte-exact`)
    if (name === 'GuardedWire') assert.ok(maxChunks > 300, `chunks are kept until the message is complete (${maxChunks})`)
    else assert.equal(maxChunks, 1, 'the base class joins on every chunk (what the override replaces)')
    assert.equal(w._bufferSize, 0)
  }
})

test('messages split at every possible byte boundary parse the same', () => {
  const msgs = [frame(2), frame(4, new Uint8Array([0, 0, 0, 7])), frame(5, new Uint8Array(3000).fill(0xaa)), frame(3)]
  const stream = Buffer.concat([handshake('22'.repeat(20)), ...msgs])
  for (const segment of [1, 2, 3, 7, 512, 4096]) {
    const w = new GuardedWire('tcpIncoming', 0) as any
    const seen: string[] = []
    for (const e of ['interested', 'have', 'bitfield', 'uninterested']) w.on(e, () => seen.push(e))
    feed(w, stream, segment)
    assert.deepEqual(seen, ['interested', 'have', 'bitfield', 'uninterested'], `segment ${segment}`)
  }
})
