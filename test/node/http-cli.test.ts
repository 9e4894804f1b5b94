/**
 * The serve command's HTTP flags, in-process through `main()`: `--http [host:]port`,
 * `--public-url`, `--admin-token` (and TORRENT_FISH_ADMIN_TOKEN), `--check-web-seeds [interval]`;
 * bad values exit 2 naming the flag.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { main } from '../../src/cli/main.ts'
import type { TorrentFish } from '../../src/node/torrent-fish.ts'
import { singleFileTorrent, writeTorrentFiles } from '../fixtures/torrents.ts'
import { tmpDir } from '../fixtures/tmp.ts'

interface Served { fish: TorrentFish, out: string[], err: string[], exit: Promise<number> }

/** Flags that keep a serving CLI off the public DHT/LSD, when this build has them. */
async function offlineFlags (): Promise<string[]> {
  const out: string[] = []
  await main(['--help'], { io: { out: l => out.push(l), err: l => out.push(l) }, signals: false })
  const help = out.join('\n')
  return ['--no-dht', '--no-lsd'].filter(f => help.includes(f))
}

async function serve (argv: string[]): Promise<Served> {
  const out: string[] = []
  const err: string[] = []
  let resolveFish!: (f: TorrentFish) => void
  const started = new Promise<TorrentFish>(resolve => { resolveFish = resolve })
  const exit = main(['-p', '0', '-i', '127.0.0.1', ...(await offlineFlags()), ...argv], {
    io: { out: l => out.push(l), err: l => err.push(l) }, signals: false, onServe: resolveFish
  })
  const fish = await Promise.race([started, exit.then(code => { throw new Error(`exited ${code}: ${err.join('\n')}`) })])
  return { fish, out, err, exit }
}

test('--http, --public-url, --check-web-seeds and the admin token from the environment', async t => {
  const dir = await tmpDir(t, 'http-cli')
  const torrent = await singleFileTorrent({ name: 'cli.bin', urlList: ['http://127.0.0.1:9/cli.bin'] })
  await writeTorrentFiles(dir, [torrent])
  process.env.TORRENT_FISH_ADMIN_TOKEN = 'from-the-environment'
  t.after(() => { delete process.env.TORRENT_FISH_ADMIN_TOKEN })
  const s = await serve(['-l', dir, '--http', '127.0.0.1:0', '--public-url', 'https://tf.example/', '--check-web-seeds', '2m'])
  try {
    assert.ok(s.fish.http)
    assert.equal(s.fish.http.address, '127.0.0.1')
    assert.equal(s.fish.http.publicUrl, 'https://tf.example')
    assert.equal(s.fish.webSeedHealth?.intervalMs, 120_000)
    assert.ok(s.out.some(l => l.includes('https://tf.example/<infohash>.torrent')), s.out.join('\n'))
    assert.ok(s.out.some(l => /listening on http 127\.0\.0\.1:\d+/.test(l)), s.out.join('\n'))
    const page = await (await fetch(`${s.fish.http.url}/`)).text()
    assert.ok(page.includes(encodeURIComponent(`https://tf.example/${torrent.infoHash}.torrent`)))
    // The token came from the environment.
    const del = await fetch(`${s.fish.http.url}/torrents/${torrent.infoHash}`, { method: 'DELETE', headers: { Authorization: 'Bearer from-the-environment' } })
    assert.equal(del.status, 200)
  } finally {
    await s.fish.close()
  }
  assert.equal(await s.exit, 0)
})

test('--check-web-seeds without a value uses the default interval; --http with a bare port', async t => {
  const s = await serve(['-l', await tmpDir(t, 'http-cli'), '--http', '0', '--check-web-seeds'])
  try {
    assert.equal(s.fish.webSeedHealth?.intervalMs, 15 * 60_000)
    assert.ok(s.fish.http!.port > 0)
    assert.equal((await fetch(`http://127.0.0.1:${s.fish.http!.port}/health`)).status, 200)
  } finally {
    await s.fish.close()
  }
  await s.exit
})

test('bad HTTP flag values exit 2 naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--http', 'nope'], /--http.*expected \[host:\]port/],
    [['--http', '70000'], /--http.*expected \[host:\]port/],
    [['--http', '0', '--public-url', 'ftp://x'], /--public-url.*http\(s\) URL/],
    [['--http', '0', '--public-url', 'https://x/?a=1'], /--public-url.*query/],
    [['--public-url', 'https://x/'], /--public-url needs --http/],
    [['--http', '0', '--check-web-seeds', 'soon'], /--check-web-seeds.*interval/]
  ]
  for (const [argv, message] of cases) {
    const err: string[] = []
    const code = await main(['-p', '0', ...argv], { io: { out: () => {}, err: l => err.push(l) }, signals: false })
    assert.equal(code, 2, `${argv.join(' ')}: ${err.join('\n')}`)
    assert.match(err.join('\n'), message, argv.join(' '))
  }
})
