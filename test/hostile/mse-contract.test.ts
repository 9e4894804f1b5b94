// Contract of the bittorrent-protocol internals src/core/wire.ts and src/core/mse-hook.ts
// rely on. Fails loudly when an upgrade changes them; the version is pinned exactly.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import Wire from 'bittorrent-protocol'
import { GuardedWire } from '../../src/core/wire.ts'
import { setMseKeyExchange, mseKeyExchange } from '../../src/core/mse-hook.ts'
import { nodeMseKeyExchange, MSE_PRIME_HEX } from '../../src/transport/mse-dh.ts'
import { createDiffieHellman, randomBytes } from 'node:crypto'

const PINNED = '5.0.9'
// Not exported by the package: reached through a wire, as the hook does.
const MessageStreamEncryptor = Object.getPrototypeOf((new Wire('tcpIncoming', 1) as any)._encryptor).constructor

test('bittorrent-protocol is pinned to the exact version the hooks were written for', () => {
  const ours = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  assert.equal(ours.dependencies['bittorrent-protocol'], PINNED, 'package.json pins it exactly')
  const installed = JSON.parse(readFileSync(new URL('../../node_modules/bittorrent-protocol/package.json', import.meta.url), 'utf8'))
  assert.equal(installed.version, PINNED, 'the installed version is the pinned one')
})

test('the Wire internals the guards use are where they were', () => {
  const w = new Wire('tcpIncoming', 1) as any
  for (const m of ['_write', '_processBuffer', '_parse', '_onMessageLength', '_onExtended', 'extended', '_onRequest', '_sendExtendedHandshake']) {
    assert.equal(typeof w[m], 'function', `Wire.${m}`)
  }
  assert.ok(Array.isArray(w._buffer), '_buffer is a list of chunks')
  assert.equal(w._bufferSize, 0)
  assert.equal(typeof w._parserSize, 'number')
  assert.equal(w._cryptoSyncPattern, null)
  assert.ok(w._encryptor instanceof MessageStreamEncryptor, '_encryptor holds the MSE state machine')
  // The base _write concatenates the whole buffer per chunk; our override must replace it.
  assert.match(Wire.prototype._write.toString(), /_processBuffer\(\)/)
  assert.notEqual(GuardedWire.prototype._write, Wire.prototype._write)
  // extended() throws for a name the peer did not map: the reason UtMetadataServer sends by number.
  assert.throws(() => w.extended('ut_metadata', {}), /Unrecognized extension/)
})

test('the encryptor reaches Diffie-Hellman only through its lazy `dh` getter', () => {
  const proto = MessageStreamEncryptor.prototype as any
  assert.equal(typeof Object.getOwnPropertyDescriptor(proto, 'dh')?.get, 'function', 'dh is a getter')
  const src = MessageStreamEncryptor.toString()
  const uses = src.match(/this\.dh\.(\w+)/g) ?? []
  assert.deepEqual([...new Set(uses)].sort(), ['this.dh.computeSecret', 'this.dh.generateKeys'])
  assert.equal((src.match(/createDiffieHellman/g) ?? []).length, 1, 'one construction, inside the getter')
  const file = readFileSync(new URL('../../node_modules/bittorrent-protocol/mse.js', import.meta.url), 'utf8')
  assert.ok(file.includes(`'${MSE_PRIME_HEX}'`), 'the same prime')
  assert.match(file, /DH_GENERATOR = 2\b/, 'the same generator')
})

test('the hook installs the injected key exchange, behind the gate, once per connection', () => {
  const before = mseKeyExchange()
  let made = 0
  let gated = 0
  setMseKeyExchange(() => { made++; return nodeMseKeyExchange() })
  try {
    const w = new GuardedWire('tcpIncoming', 1, () => { gated++ }) as any
    const enc = w._encryptor
    const y = enc.dh.generateKeys()
    enc.dh.computeSecret(y)
    assert.equal(made, 1)
    assert.equal(gated, 1)
    const refused = new GuardedWire('tcpIncoming', 1, () => { throw new Error('budget') }) as any
    assert.throws(() => refused._encryptor.dh, /budget/)
    assert.equal(made, 1, 'a refused gate builds nothing')
  } finally {
    setMseKeyExchange(before)
  }
})

test('the Node key exchange agrees with a plain DiffieHellman and pads S to 96 bytes', () => {
  for (let i = 0; i < 50; i++) {
    const ours = nodeMseKeyExchange()
    const theirs = createDiffieHellman(MSE_PRIME_HEX, 'hex', 2)
    theirs.setPrivateKey(randomBytes(96))
    const theirPublic = theirs.generateKeys()
    const ourPublic = ours.generateKeys()
    // Interleave another connection's operations on the shared object.
    nodeMseKeyExchange().generateKeys()
    const s1 = ours.computeSecret(theirPublic)
    const s2 = theirs.computeSecret(Buffer.from(ourPublic))
    assert.equal(s1.length, 96)
    const padded = Buffer.alloc(96)
    padded.set(s2, 96 - s2.length)
    assert.deepEqual(Buffer.from(s1), padded)
  }
})
