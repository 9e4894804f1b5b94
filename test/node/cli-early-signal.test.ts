/**
 * A supervisor (or a test) may send SIGTERM as soon as it sees the first line of output, while
 * the service is still starting. Without a listener Node dies at once on SIGTERM (exit by
 * signal, no `stopped` to trackers); the CLI must catch it from the start and shut down cleanly.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { BIN } from '../fixtures/cli.ts'
import { tmpDir } from '../fixtures/tmp.ts'
import { singleFileTorrent, writeTorrentFiles } from '../fixtures/torrents.ts'

test('SIGTERM right after the first output line, during start-up: clean exit 0, not death by signal', async t => {
  const dir = await tmpDir(t, 'early-signal')
  await writeTorrentFiles(dir, [await singleFileTorrent({ name: 'early' })])
  const child = spawn(process.execPath, [BIN, '-l', dir, '-p', '0', '-i', '127.0.0.1', '--no-dht', '--no-lsd', '--json', '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const lines: string[] = []
  const exited = new Promise<[number | null, string | null]>(resolve => child.once('exit', (c, s) => resolve([c, s])))
  let signalled = false
  const onLine = (l: string): void => {
    lines.push(l)
    if (!signalled) { signalled = true; child.kill('SIGTERM') }
  }
  createInterface({ input: child.stdout }).on('line', onLine)
  createInterface({ input: child.stderr }).on('line', onLine)
  const [code, signal] = await exited
  assert.equal(signal, null, `died by ${signal}:\n${lines.join('\n')}`)
  assert.equal(code, 0, lines.join('\n'))
  assert.ok(lines.some(l => l.includes('"event":"shutdown"')), lines.join('\n'))
})
