/**
 * The DHT state file and its directory going wrong: truncated, corrupt, on a read-only
 * filesystem, on a full one. Each time the service starts and serves (a real metadata fetch),
 * says so in one warning naming the file, and exits 0 on SIGTERM. Read-only and full
 * filesystems are tmpfs mounts in a mount namespace of the child's own (tests run as root).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { tmpDir } from '../fixtures/tmp.ts'
import { makeTorrent } from '../fixtures/memory-torrents.ts'
import { parseTorrent } from '../../src/index.ts'
import { startChild, type Child } from './child.ts'
import { fetchMetadata } from './fetch.ts'

async function setup (t: { after: (fn: () => unknown) => void }): Promise<{ dir: string, load: string, state: string, infoHash: string }> {
  const dir = await tmpDir(t, 'state-dir')
  const load = path.join(dir, 'load')
  const state = path.join(dir, 'state')
  await mkdir(load)
  await mkdir(state)
  const torrent = makeTorrent()
  await writeFile(path.join(load, 'a.torrent'), torrent.torrentBytes)
  return { dir, load, state, infoHash: (await parseTorrent(torrent.torrentBytes)).infoHash }
}

function serve (load: string, state: string, t: { after: (fn: () => unknown) => void }, wrap: string[] = [], env: NodeJS.ProcessEnv = process.env): Child {
  return startChild(['-l', load, '--state-dir', state, '--dht-bootstrap', 'none', '--no-lsd', '--no-announce', '--json', '-p', '0', '-i', '127.0.0.1'], t, env, wrap)
}

async function servesThenStops (p: Child, infoHash: string): Promise<void> {
  const port = Number((await p.waitFor('listening', e => e.transport === 'tcp')).port)
  assert.ok((await fetchMetadata(port, infoHash)).length > 0, 'serves metadata')
  await p.stop()
  assert.equal((await p.exited).code, 0)
}

const VALID = JSON.stringify({ nodeId: 'ab'.repeat(20), nodes: [{ host: '127.0.0.1', port: 9, id: 'cd'.repeat(20) }] }, null, 1)

for (const [name, content] of [['truncated', VALID.slice(0, VALID.length / 2)], ['corrupt', '\u0000\u0001garbage{{{'], ['without a node id', '{"nodes": []}']] as const) {
  test(`a ${name} DHT state file: starts, warns naming it, serves, rewrites it`, { timeout: 60_000 }, async t => {
    const { load, state, infoHash } = await setup(t)
    const file = path.join(state, 'dht-state.json')
    await writeFile(file, content)
    const p = serve(load, state, t)
    const warning = await p.waitFor('warning', e => String(e.message).includes(file))
    assert.match(warning.message, /new node id/)
    assert.equal(warning.code, 'WARN_DHT_STATE')
    await servesThenStops(p, infoHash)
    const saved = JSON.parse(await readFile(file, 'utf8'))
    assert.match(saved.nodeId, /^[0-9a-f]{40}$/, 'a good state replaced the bad one on exit')
  })
}

for (const [name, mount, error] of [
  ['read-only', 'mount -t tmpfs -o ro,size=64k tmpfs "$STATE"', /EROFS|read-only/],
  ['full', 'mount -t tmpfs -o size=16k tmpfs "$STATE" && (head -c 1048576 /dev/zero > "$STATE/filler" || true)', /ENOSPC|no space/]
] as const) {
  test(`a ${name} state directory: serves, warns naming the state file on save, exits 0`, { timeout: 60_000 }, async t => {
    const { load, state, infoHash } = await setup(t)
    const wrap = ['unshare', '-m', '--propagation', 'private', 'bash', '-c', `set -e; ${mount}; exec "$@"`, '--']
    const p = serve(load, state, t, wrap, { ...process.env, STATE: state })
    await servesThenStops(p, infoHash)
    const warning = p.events.find(e => e.event === 'warning' && String(e.message).includes(path.join(state, 'dht-state.json')))
    assert.ok(warning, `a warning names the state file:\n${p.events.map(e => JSON.stringify(e)).join('\n')}`)
    assert.match(warning.message, error)
    assert.match(warning.message, /serving continues/)
  })
}
