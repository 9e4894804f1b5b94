// Contract test of src/core/bencode-guard.ts and src/discovery/dht-bencode-guard.ts: the
// bencode internals they wrap exist in the pinned versions, negative string lengths throw
// instead of looping, and every valid value decodes exactly as before.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import bencode from 'bencode'
import { installBencodeGuard } from '../../src/core/bencode-guard.ts'
import { installDhtBencodeGuard } from '../../src/discovery/dht-bencode-guard.ts'

const require = createRequire(import.meta.url)
const krpcRequire = createRequire(require.resolve('k-rpc-socket'))
const krpcBencode = krpcRequire('bencode')

/** The version of the `bencode` package that `from` resolves (walks up node_modules like Node). */
function versionOf (from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try { return JSON.parse(readFileSync(path.join(dir, 'node_modules', 'bencode', 'package.json'), 'utf8')).version } catch {}
    if (path.dirname(dir) === dir) throw new Error(`no bencode above ${from}`)
  }
}

test('the guarded bencode copies are the versions the guard was written for', () => {
  // An upgrade must re-check that decode.buffer() is still the string reader, then bump these.
  assert.equal(versionOf(path.dirname(fileURLToPath(import.meta.resolve('bittorrent-protocol')))), '4.0.1')
  assert.equal(versionOf(path.dirname(require.resolve('k-rpc-socket'))), '2.0.3')
  for (const decode of [bencode.decode as any, krpcBencode.decode]) {
    assert.equal(typeof decode.buffer, 'function')
    assert.ok('position' in decode)
  }
})

test('after the guard, negative or signed string lengths throw instead of looping', () => {
  installBencodeGuard()
  installDhtBencodeGuard()
  installBencodeGuard() // twice is harmless
  for (const decode of [(b: Uint8Array) => bencode.decode(b), (b: Uint8Array) => krpcBencode.decode(Buffer.from(b))]) {
    for (const bad of ['d1:a-3:abce', '-3:abc', 'l-1:e', 'd-1:ae', 'd1:a+3:abce']) {
      assert.throws(() => decode(Buffer.from(bad)), /string length must start with a digit/, bad)
    }
  }
})

test('after the guard, valid values decode exactly as before', () => {
  installBencodeGuard()
  installDhtBencodeGuard()
  const value = { a: Buffer.from(''), b: [1, -2, Buffer.from('xyz')], c: { d: Buffer.from('0123456789') }, e: 0 }
  const bytes = bencode.encode(value)
  assert.deepEqual(bencode.decode(bytes), bencode.decode(Buffer.from(bytes)))
  assert.equal(Buffer.from(bencode.encode(bencode.decode(bytes))).toString(), Buffer.from(bytes).toString())
  assert.equal(Buffer.from(krpcBencode.encode(krpcBencode.decode(Buffer.from(bytes)))).toString(), Buffer.from(bytes).toString())
  assert.deepEqual(bencode.decode(Buffer.from('03:abc')), new Uint8Array(Buffer.from('abc')), 'leading zeros still read as before')
})
