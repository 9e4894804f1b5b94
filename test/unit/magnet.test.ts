// composeMagnet: what a client needs to get metadata from us and content from the web seed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decode } from 'magnet-uri'
import { composeMagnet, magnetWarnings, parseTorrent } from '../../src/index.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'

test('carries xt, dn, xl, every web seed, trackers, x.pe and xs', async () => {
  const r = await parseTorrent(makeTorrent({ name: 'My File.bin', urlList: ['http://a/x', 'http://b/x'], announce: 'udp://t:1' }).torrentBytes)
  const m = composeMagnet(r, { peerAddresses: ['127.0.0.1:6881'], extraTrackers: ['wss://w/'], torrentBaseUrl: 'https://fish.example/' })
  const d = decode(m)
  assert.equal(d.infoHash, r.infoHash)
  assert.equal(d.name, 'My File.bin')
  assert.equal(Number(d.xl), r.length)
  assert.deepEqual(d.urlList, ['http://a/x', 'http://b/x'])
  assert.deepEqual(d.announce, ['udp://t:1', 'wss://w/'])
  assert.deepEqual(d.peerAddresses, ['127.0.0.1:6881'])
  assert.equal(d.xs, `https://fish.example/${r.infoHash}.torrent`)
})

test('warns when a torrent has no web seed, and when it is private', async () => {
  const r = await parseTorrent(makeTorrent({ private: true }).torrentBytes)
  const w = magnetWarnings(r)
  assert.equal(w.length, 2)
  assert.match(w[0], /no web seed/)
  assert.match(w[1], /private/)
  assert.deepEqual(magnetWarnings(await parseTorrent(makeTorrent({ urlList: ['http://a/'] }).torrentBytes)), [])
})
