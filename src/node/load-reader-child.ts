/**
 * A reader process of the first directory scan (load-readers.ts starts it): it reads, parses
 * and hashes the .torrent files the loader sends it and answers with what the load cache
 * would hold for each, so the loading process only adds records, as on a restart. Run as
 * `node load-reader-child.ts <load path>` with the load path as its working directory and
 * READER_ENV set (this module is also imported by the loader, for its file name).
 *
 * Protocol: the reader first writes `+` (started: until then the loader reads files itself,
 * so starting a process, ~0.1-0.5 s, costs no time); then one line each way per file, in
 * order: the loader writes a path relative to the
 * load path; the reader answers with the file's load-cache line (load-cache.ts `cacheLine`:
 * checksummed, so a damaged answer is noticed) or, when the file did not load, `!` and the
 * JSON array [error code or null, message, mtime]. When its input ends, it exits; its memory
 * goes back to the system with it.
 */
import { hash } from 'node:crypto'
import { StringDecoder } from 'node:string_decoder'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setSyncDigest } from '../core/digest.ts'
import { TorrentFishError } from '../core/errors.ts'
import { parseTorrent } from '../core/torrent.ts'
import { cacheLine } from './load-cache.ts'
import { SyncFileReader } from './load-file-reader.ts'

/** This module's file: what the loader starts. */
export const READER_CHILD_FILE = fileURLToPath(import.meta.url)

/** An answer for a file that did not load. */
export function failureLine (err: unknown, mtimeMs: number): string {
  const code = err instanceof TorrentFishError ? err.code : null
  const message = err instanceof Error ? err.message : String(err)
  return '!' + JSON.stringify([code, message, mtimeMs])
}

async function answer (root: string, rel: string, reader: SyncFileReader): Promise<string> {
  const read = reader.read(rel)
  if (read instanceof Error) return failureLine(read, 0)
  try {
    const parsed = await parseTorrent(read.bytes, root + path.sep + rel)
    return cacheLine(rel, read.id, parsed)
  } catch (err) {
    return failureLine(err, read.mtimeMs)
  }
}

async function serve (root: string): Promise<void> {
  setSyncDigest((algorithm, data) => hash(algorithm === 'sha-1' ? 'sha1' : 'sha256', data, 'hex'))
  const reader = new SyncFileReader()
  const decoder = new StringDecoder('utf8')
  let rest = ''
  process.stdout.write('+\n')
  // One batch of names in, its answers out in one write, the next batch after.
  for await (const chunk of process.stdin) {
    const text = rest + decoder.write(chunk as Buffer)
    const out: string[] = []
    let at = 0
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', at)) {
      out.push(await answer(root, text.slice(at, nl), reader))
      at = nl + 1
    }
    rest = text.slice(at)
    if (out.length > 0) process.stdout.write(out.join('\n') + '\n')
  }
}

/** Set in a reader's environment by the loader: only then does importing this module serve. */
export const READER_ENV = 'TORRENT_FISH_LOAD_READER'

if (process.env[READER_ENV] === '1') {
  const root = process.argv[2]
  process.chdir(root)
  serve(root).catch(err => { process.stderr.write(`torrent-fish reader: ${(err as Error).message}\n`); process.exitCode = 1 })
}
