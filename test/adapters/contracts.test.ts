/**
 * Contract tests for every reach into another package's internals (src/adapters/ and the
 * bittorrent-protocol subclass in src/core/wire.ts). Each fails loudly, naming the package,
 * when an upgrade moves or changes what the adapter relies on; and the patched packages are
 * pinned to the exact versions these tests were written against.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Wire from 'bittorrent-protocol'
import DHT from 'bittorrent-dht'
import LSD from 'bittorrent-lsd'
import { trackerClasses, CLIENT_FIELDS_USED, oneShotTracker } from '../../src/adapters/bittorrent-tracker.ts'
import { routingTableNodes, routingTableSize } from '../../src/adapters/bittorrent-dht.ts'
import { dropAnnounces } from '../../src/adapters/bittorrent-lsd.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
const PATCHED = ['bittorrent-protocol', 'bittorrent-tracker', 'bittorrent-dht', 'bittorrent-lsd']

test('patched packages are pinned to exact versions, and those are the versions installed', () => {
  for (const name of PATCHED) {
    const wanted = pkg.dependencies[name]
    assert.match(wanted, /^\d+\.\d+\.\d+$/, `${name} must be pinned exactly (its internals are used), not "${wanted}"`)
    const installed = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version
    assert.equal(installed, wanted, `${name}: installed ${installed}, pinned ${wanted}; re-run test/adapters after an upgrade`)
  }
})

test('bittorrent-tracker: the HTTP and UDP tracker classes exist and read only the client fields the stand-in provides', async () => {
  for (const [kind, Tracker] of Object.entries(trackerClasses)) {
    assert.equal(typeof Tracker, 'function', `bittorrent-tracker: lib/client/${kind}-tracker.js no longer exports a class`)
    for (const method of ['announce', 'setInterval', 'destroy']) assert.equal(typeof Tracker.prototype[method], 'function', `bittorrent-tracker ${kind} tracker: ${method}() is gone`)
    const read = new Set<string>()
    const client = new Proxy({
      infoHash: '0'.repeat(40), _infoHashBinary: '\0'.repeat(20), _infoHashBuffer: new Uint8Array(20), _peerIdBinary: '\0'.repeat(20),
      _peerIdBuffer: new Uint8Array(20), _port: 1, _userAgent: undefined, _proxyOpts: undefined,
      _defaultAnnounceOpts: (o: object) => o, emit: () => true
    } as Record<string, unknown>, { get (target, key) { if (typeof key === 'string') read.add(key); return target[key] } })
    const url = kind === 'http' ? 'http://127.0.0.1:9/announce' : 'udp://127.0.0.1:9'
    const tracker = new Tracker(client, url)
    tracker.setInterval = () => {}
    tracker.announce({ event: 'started', left: 0, uploaded: 0, downloaded: 0, numwant: 0 })
    await new Promise<void>(resolve => tracker.destroy(() => resolve()))
    const unknown = [...read].filter(k => !(CLIENT_FIELDS_USED as readonly string[]).includes(k))
    assert.deepEqual(unknown, [], `bittorrent-tracker ${kind} tracker reads client fields the adapter does not provide`)
  }
})

test('bittorrent-tracker: a one-shot HTTP announce reports an unreachable tracker as a warning', async () => {
  const tracker = oneShotTracker('http', 'http://127.0.0.1:9/announce', { infoHash: '1'.repeat(40), peerId: new Uint8Array(20), port: 1 })
  const warned = new Promise<unknown>(resolve => tracker.events.once('warning', resolve))
  tracker.announce({ event: 'started', left: 0, uploaded: 0, downloaded: 0, numwant: 0 })
  assert.ok(await warned instanceof Error)
  await tracker.destroy()
})

test('importing torrent-fish (and this adapter) loads no native addon: no node-datachannel', async () => {
  // A fresh process: this one has loaded test dependencies of its own.
  const { execFileSync } = await import('node:child_process')
  const out = execFileSync(process.execPath, ['-e', "import('./src/node.ts').then(() => { const fs = require('fs'); console.log(fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter(l => l.endsWith('.node')).map(l => l.split(' ').pop()).join('\\n')) })"], { cwd: ROOT, encoding: 'utf8' })
  assert.deepEqual(out.split('\n').filter(Boolean), [], 'native addons mapped after import')
})

test('bittorrent-dht: the routing table the adapter reads is there', async () => {
  const dht = new DHT({ bootstrap: false })
  try {
    await new Promise<void>(resolve => dht.listen(0, '127.0.0.1', () => resolve()))
    dht.addNode({ host: '127.0.0.1', port: 9, id: Buffer.alloc(20, 7) })
    assert.equal(routingTableSize(dht), 1)
    const [node] = routingTableNodes(dht)
    assert.equal(node.host, '127.0.0.1')
    assert.equal(Buffer.from(node.id as Uint8Array).toString('hex'), '07'.repeat(20), 'nodes keep their ids')
  } finally {
    await new Promise<void>(resolve => dht.destroy(() => resolve()))
  }
})

test('bittorrent-lsd: _parseAnnounce is there and the filter drops the cookies it is asked to', () => {
  assert.equal(typeof LSD.prototype._parseAnnounce, 'function', 'bittorrent-lsd: _parseAnnounce() is gone')
  const lsd = new LSD({ peerId: 'a'.repeat(40), infoHash: '0'.repeat(40), port: 1 })
  try {
    dropAnnounces(lsd, cookie => cookie.startsWith('torrent-fish-'))
    const message = (cookie: string): string => `BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${'b'.repeat(40)}\r\ncookie: ${cookie}\r\n\r\n\r\n`
    assert.equal(lsd._parseAnnounce(message('torrent-fish-xyz')), null)
    const kept = lsd._parseAnnounce(message('someone-else'))
    assert.ok(kept && kept.cookie === 'someone-else', 'other announces still parse (and carry a cookie field)')
  } finally {
    lsd.destroy()
  }
})

test('bittorrent-protocol: the Wire methods src/core/wire.ts overrides are there', () => {
  for (const method of ['_onMessageLength', '_onRequest', '_sendExtendedHandshake', '_message', 'extended', '_onExtended', '_onHandshakeBuffer', '_onHandshake']) {
    assert.equal(typeof (Wire.prototype as any)[method], 'function', `bittorrent-protocol: Wire.${method}() is gone; update src/core/wire.ts`)
  }
  // GuardedWire._sendExtendedHandshake sets the flag the base class checks before sending its own.
  const source = readFileSync(path.join(ROOT, 'node_modules', 'bittorrent-protocol', 'index.js'), 'utf8')
  assert.match(source, /!this\._extendedHandshakeSent/, 'bittorrent-protocol: the _extendedHandshakeSent guard is gone')
})

test('bittorrent-protocol: a peer\'s extended handshake leaves a GuardedWire as it leaves the base Wire', async () => {
  const { GuardedWire } = await import('../../src/core/wire.ts')
  const { UtMetadataServer } = await import('../../src/core/ut-metadata-server.ts')
  const bencode = (await import('bencode')).default
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
  const handshakes: Uint8Array[] = [
    bencode.encode({ m: { ut_metadata: 3, ut_pex: 1 }, v: enc('qBittorrent/4.6.2'), p: 6881, reqq: 500, metadata_size: 8070 }),
    bencode.encode({ m: { ut_metadata: 0 } }),
    bencode.encode({ m: { ut_metadata: 256, lt_donthave: 7 } }),
    bencode.encode({ m: [1, 2] }),
    bencode.encode({ m: enc('x') }),
    bencode.encode({ v: enc('no m') }),
    bencode.encode(7),
    enc('d1:md11:ut_metadatai2eee'), enc('d1:md11:ut_metadatai2e'), enc('garbage'), new Uint8Array(0)
  ]
  for (const hs of handshakes) {
    const seen: unknown[][] = []
    const wires = [new Wire('tcpIncoming'), new GuardedWire('tcpIncoming', 0)]
    for (const wire of wires) {
      wire.use(UtMetadataServer)
      const events: unknown[] = []
      wire.on('extended', (ext: string, info: unknown) => events.push([ext, info]))
      // Twice: a second handshake updates what the first set.
      ;(wire as any)._onExtended(0, hs)
      ;(wire as any)._onExtended(0, handshakes[0])
      seen.push([wire.peerExtendedHandshake, { ...wire.peerExtendedMapping }, events, (wire as any).ut_metadata.peerId])
    }
    assert.deepStrictEqual(seen[1], seen[0], `extended handshake ${Buffer.from(hs).toString('hex')}`)
  }
})

test('bittorrent-protocol: a peer\'s handshake leaves a GuardedWire as it leaves the base Wire', async () => {
  const { GuardedWire } = await import('../../src/core/wire.ts')
  const handshake = (pstr: string, reserved5: number, reserved7: number): Uint8Array => {
    const out = new Uint8Array(67)
    out.set(new TextEncoder().encode(pstr).subarray(0, 19), 0)
    out[19 + 5] = reserved5
    out[19 + 7] = reserved7
    out.fill(0xab, 27, 47)
    out.fill(0x2d, 47, 67)
    return out
  }
  const cases = [
    handshake('BitTorrent protocol', 0x10, 0x05), handshake('BitTorrent protocol', 0, 0), handshake('BitTorrent protocol', 0x10, 0x04),
    handshake('BitTorrent protocoL', 0x10, 0x05), handshake('Bittorrent protocol', 0x10, 0x05)
  ]
  for (const bytes of cases) {
    const seen: unknown[] = []
    for (const wire of [new Wire('tcpIncoming'), new GuardedWire('tcpIncoming', 0)]) {
      const events: unknown[] = []
      wire.on('handshake', (...args: unknown[]) => events.push(args))
      let ended = false
      ;(wire as any).end = () => { ended = true }
      wire.extensions = { fast: true, dht: false, extended: true }
      ;(wire as any)._onHandshakeBuffer(Buffer.from(bytes))
      seen.push({ events, ended, peerId: wire.peerId, peerExtensions: wire.peerExtensions, hasFast: wire.hasFast, parserSize: (wire as any)._parserSize })
    }
    assert.deepStrictEqual(seen[1], seen[0], `handshake ${Buffer.from(bytes).toString('hex')}`)
  }
})

test('bittorrent-protocol: extended messages reach the same handler with the same events on a GuardedWire as on the base Wire', async () => {
  const { GuardedWire } = await import('../../src/core/wire.ts')
  const { UtMetadataServer } = await import('../../src/core/ut-metadata-server.ts')
  const seen: unknown[] = []
  for (const wire of [new Wire('tcpIncoming'), new GuardedWire('tcpIncoming', 0)]) {
    wire.use(UtMetadataServer)
    const calls: unknown[] = []
    const ext = (wire as any).ut_metadata
    ext.onMessage = (buf: Uint8Array) => calls.push(['onMessage', Buffer.from(buf).toString('hex')])
    wire.on('extended', (name: unknown, buf: Uint8Array) => calls.push(['extended', name, Buffer.from(buf).toString('hex')]))
    for (const [id, body] of [[1, 'd8:msg_typei0e5:piecei0ee'], [7, 'x'], [1, ''], [255, 'd1:ae']] as const) {
      ;(wire as any)._onExtended(id, Buffer.from(body))
    }
    seen.push(calls)
  }
  assert.deepStrictEqual(seen[1], seen[0])
  assert.ok((seen[0] as unknown[]).length >= 6, 'the messages were dispatched at all')
})
