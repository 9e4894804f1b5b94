/**
 * The CLI with one torrent and the HTTP face, as the hostile HTTP tests start it
 * (`node bin/torrent-fish.js -l DIR -c 200 --no-utp --http 127.0.0.1:0`), and a reader of its
 * /metrics figures.
 */
import type { TestContext } from 'node:test'
import { makeTorrent, writeTorrentFiles } from '../fixtures/torrents.ts'
import { spawnCli } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'

export interface HttpCli {
  cli: Awaited<ReturnType<typeof spawnCli>>
  infoHash: string
  /** The HTTP face's port and base URL. */
  httpPort: number
  base: string
}

export async function startHttpCli (t: TestContext, name: string, fill: number): Promise<HttpCli> {
  const dir = await tmpDir(t)
  const torrent = await makeTorrent({ name, content: new Uint8Array(50_000).fill(fill) })
  await writeTorrentFiles(dir, [torrent])
  const cli = await spawnCli(['-l', dir, '-c', '200', '--no-utp', '--http', '127.0.0.1:0'], t)
  t.after(() => cli.stop())
  const listening = await cli.waitFor('listening', e => e.transport === 'http')
  return { cli, infoHash: torrent.infoHash, httpPort: listening.port, base: `http://127.0.0.1:${listening.port}` }
}

/** An unlabelled figure of a /metrics text, NaN when absent. */
export const metric = (text: string, name: string): number => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN)
