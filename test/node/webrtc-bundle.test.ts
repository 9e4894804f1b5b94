/**
 * The browser builds: self-contained (no import or require of anything, Node built-ins
 * least of all), the IIFE defines exactly one global `TorrentFish` with the browser API, and
 * the bundle stays small. Builds them first when src/ is newer (test/browser/harness.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import path from 'node:path'
import vm from 'node:vm'
import { gzipSync } from 'node:zlib'
import { ensureBundles, ROOT } from '../browser/harness.ts'

ensureBundles()
const esm = readFileSync(path.join(ROOT, 'dist', 'browser', 'torrent-fish.js'), 'utf8')
const iife = readFileSync(path.join(ROOT, 'dist', 'browser', 'torrent-fish.min.js'), 'utf8')

test('the browser ESM imports nothing and names no Node built-in', () => {
  assert.doesNotMatch(esm, /^\s*import\s/m, 'no import statements left')
  assert.doesNotMatch(esm, /\brequire\s*\(/, 'no require() calls')
  for (const name of builtinModules) {
    const quoted = new RegExp(`(from\\s*|import\\s*\\(\\s*)['"](node:)?${name.replace('/', '\\/')}['"]`)
    assert.doesNotMatch(esm, quoted, `no import of ${name}`)
  }
  assert.doesNotMatch(esm, /['"]node:[a-z_/]+['"]/, 'no node: specifiers at all')
  assert.match(esm, /export \{[^}]*createBrowserPeer/, 'exports the browser API')
})

test('the IIFE defines one global, TorrentFish, with the browser API', () => {
  assert.doesNotMatch(iife, /\brequire\s*\(/)
  // The web platform globals the bundle touches while loading; nothing Node-specific.
  const sandbox: Record<string, unknown> = { TextDecoder, TextEncoder, crypto, console, setTimeout, clearTimeout, queueMicrotask }
  vm.createContext(sandbox)
  const before = new Set(Object.keys(sandbox))
  vm.runInContext(iife, sandbox)
  const added = Object.keys(sandbox).filter(k => !before.has(k))
  assert.deepEqual(added, ['TorrentFish'])
  const api = sandbox.TorrentFish as Record<string, unknown>
  for (const name of ['createBrowserPeer', 'BrowserPeer', 'MetadataPeer', 'composeMagnet', 'parseTorrent']) {
    assert.equal(typeof api[name], 'function', name)
  }
  // Internals stay internal (the full list is pinned by test/package/api-surface.test.ts).
  for (const name of ['WebRtcAnswerPool', 'TrackerSocket', 'DataChannelStream', 'TorrentStore']) assert.equal(api[name], undefined, name)
})

test('bundle sizes stay small', t => {
  const min = Buffer.byteLength(iife)
  const gz = gzipSync(iife).length
  t.diagnostic(`IIFE ${(min / 1024).toFixed(1)} KiB minified, ${(gz / 1024).toFixed(1)} KiB gzip; ESM ${(Buffer.byteLength(esm) / 1024).toFixed(1)} KiB unminified`)
  assert.ok(min < 200 * 1024, `minified IIFE is ${min} bytes`)
  assert.ok(gz < 60 * 1024, `gzip IIFE is ${gz} bytes`)
})
