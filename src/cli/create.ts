/**
 * `torrent-fish create PATH --web-seed URL`: makes a .torrent whose `url-list` (BEP 19) points
 * at a web seed, with create-torrent, and prints its magnet. The magnet plus a running
 * torrent-fish is all a leecher needs: metadata from us, content from the web seed.
 *
 * BEP 19 layout: a single-file torrent's URL is either the file's own URL or a base ending in
 * `/` to which clients append the file name; a multi-file torrent's URL is a base to which
 * clients append `<name>/<path>`, where the torrent name is the directory's name.
 */
import { readdir, stat, writeFile, rename, unlink } from 'node:fs/promises'
import path from 'node:path'
import { InvalidArgumentError } from 'commander'
import { parseTorrent } from '../core/torrent.ts'
import { composeMagnet } from '../core/magnet.ts'
import { CLIENT_NAME } from '../core/constants.ts'
import type { Output } from './log.ts'

export interface CreateArgs {
  path: string
  webSeed: string[]
  tracker?: string[]
  output?: string
  private?: boolean
  pieceLength?: number
  /** Base URL of a torrent-fish HTTP face: the printed magnet gets `xs=`. */
  publicUrl?: string
  force?: boolean
  /** Show progress: true always, false never, undefined for inputs above the threshold. */
  progress?: boolean
}

export interface CreateOptions {
  /** Where a live progress bar goes (a TTY); without one, progress is printed as lines. */
  progressStream?: { isTTY?: boolean, write: (s: string) => unknown }
}

/** Inputs at least this large get a progress display: hashing them takes seconds. */
export const PROGRESS_THRESHOLD_BYTES = 64 * 1024 * 1024

/** 16 KiB is the BEP 3 block size and the smallest sane piece; 64 MiB is past what clients accept. */
const MIN_PIECE_LENGTH = 16 * 1024
const MAX_PIECE_LENGTH = 64 * 1024 * 1024

const TRACKER_PROTOCOLS = new Set(['http:', 'https:', 'udp:', 'ws:', 'wss:'])

/** A usage error: exit code 2 with a message naming the culprit. */
class UsageError extends Error {}

/** commander parser for `--piece-length`: bytes, or with K/M suffix (binary), a power of two. */
export function pieceLengthArg (value: string): number {
  const m = /^(\d+)\s*(k|ki|kib|m|mi|mib)?$/i.exec(value.trim())
  if (!m) throw new InvalidArgumentError(`expected bytes like 262144, 256K or 4M, got "${value}".`)
  const unit = (m[2] ?? '').toLowerCase()
  const n = Number(m[1]) * (unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1)
  if (n < MIN_PIECE_LENGTH || n > MAX_PIECE_LENGTH || (n & (n - 1)) !== 0) {
    throw new InvalidArgumentError(`must be a power of two from 16K to 64M, got ${n}.`)
  }
  return n
}

function checkWebSeed (value: string, multiFile: boolean, io: Output): string {
  let url: URL
  try { url = new URL(value) } catch { throw new UsageError(`--web-seed: not a URL: "${value}"`) }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--web-seed: must be an http:// or https:// URL, got "${value}"`)
  if (url.hash) throw new UsageError(`--web-seed: must not have a #fragment: "${value}"`)
  if (!multiFile && value.endsWith('/')) {
    io.err(`note: BEP 19 clients append the file name to ${value}, but WebTorrent fetches a single-file web seed URL as given: the file's own URL works with every client`)
  }
  if (multiFile) {
    if (url.search) throw new UsageError(`--web-seed: a multi-file torrent needs a base URL without a query (clients append <name>/<path>): "${value}"`)
    if (!value.endsWith('/')) {
      io.err(`note: --web-seed ${value} is the base of a multi-file torrent: using ${value}/ (clients append <name>/<path>)`)
      return value + '/'
    }
  }
  return value
}

function checkTracker (value: string): string {
  let url: URL
  try { url = new URL(value) } catch { throw new UsageError(`--tracker: not a URL: "${value}"`) }
  if (!TRACKER_PROTOCOLS.has(url.protocol)) throw new UsageError(`--tracker: must be http(s)://, udp:// or ws(s)://, got "${value}"`)
  return value
}

/** Files and bytes create-torrent will hash (it skips hidden entries the same way). */
async function measure (dir: string): Promise<{ files: number, bytes: number }> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  let files = 0
  let bytes = 0
  for (const e of entries) {
    if (!e.isFile()) continue
    const full = path.join(e.parentPath, e.name)
    if (path.relative(dir, full).split(path.sep).some(part => part.startsWith('.'))) continue
    files += 1
    bytes += (await stat(full)).size
  }
  return { files, bytes }
}

function formatMiB (n: number): string {
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`
}

/** Progress on stderr: a redrawn bar on a terminal, a line per 10% elsewhere (logs). */
function progressReporter (io: Output, stream: CreateOptions['progressStream']): { update: (done: number, total: number) => void, end: () => void } {
  const tty = stream?.isTTY === true
  let lastStep = -1
  let lastDraw = 0
  return {
    update (done, total) {
      const ratio = total > 0 ? Math.min(1, done / total) : 1
      if (tty) {
        const now = Date.now()
        if (now - lastDraw < 100 && ratio < 1) return
        lastDraw = now
        const width = 30
        const filled = Math.round(ratio * width)
        stream!.write(`\rhashing [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${formatMiB(done)} / ${formatMiB(total)}`)
      } else {
        const step = Math.floor(ratio * 10)
        if (step === lastStep) return
        lastStep = step
        io.err(`hashing: ${step * 10}% (${formatMiB(done)} of ${formatMiB(total)})`)
      }
    },
    end () { if (tty) stream!.write('\n') }
  }
}

/** Returns the exit code: 0 written, 1 failed while hashing or writing, 2 bad arguments. */
export async function start (args: CreateArgs, io: Output, options: CreateOptions = {}): Promise<number> {
  try {
    return await create(args, io, options)
  } catch (err) {
    io.err(`torrent-fish create: ${(err as Error).message}`)
    return err instanceof UsageError ? 2 : 1
  }
}

async function create (args: CreateArgs, io: Output, options: CreateOptions): Promise<number> {
  const input = path.resolve(args.path)
  const info = await stat(input).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(err.code === 'ENOENT' ? `${args.path}: no such file or directory` : `${args.path}: ${err.message}`)
  })
  const multiFile = info.isDirectory()
  if (!multiFile && !info.isFile()) throw new UsageError(`${args.path}: not a regular file or directory`)
  const size = multiFile ? await measure(input) : { files: 1, bytes: info.size }
  if (size.files === 0) throw new UsageError(`${args.path}: the directory has no files (hidden files are left out)`)
  if (size.bytes === 0) throw new UsageError(`${args.path}: ${multiFile ? 'every file is empty' : 'the file is empty'}; there is nothing to seed`)
  if (args.webSeed.length === 0) throw new UsageError('--web-seed: at least one web seed URL is required')
  const urlList = args.webSeed.map(u => checkWebSeed(u, multiFile, io))
  const trackers = (args.tracker ?? []).map(checkTracker)
  if (args.publicUrl !== undefined && !/^https?:\/\/[^/]/i.test(args.publicUrl)) throw new UsageError(`--public-url: must be an http(s) URL, got "${args.publicUrl}"`)

  const name = path.basename(input)
  const output = path.resolve(args.output ?? `${name}.torrent`)
  if (!args.force && await stat(output).then(() => true, () => false)) {
    throw new UsageError(`${output} exists; use --force to overwrite it`)
  }

  const showProgress = args.progress ?? size.bytes >= PROGRESS_THRESHOLD_BYTES
  const progress = showProgress ? progressReporter(io, options.progressStream) : null
  // Loaded here, not at the top: the CLI's other commands should not pay for create-torrent.
  const { default: createTorrent } = await import('create-torrent')
  const bytes = await new Promise<Uint8Array>((resolve, reject) => {
    createTorrent(input, {
      name,
      urlList,
      // An explicit list, even empty: create-torrent otherwise adds public trackers.
      announceList: trackers.map(t => [t]),
      ...(args.private ? { private: true } : {}),
      ...(args.pieceLength ? { pieceLength: args.pieceLength } : {}),
      createdBy: CLIENT_NAME,
      onProgress: progress ? (done: number, total: number) => progress.update(done, total) : undefined
    }, (err, torrent) => err ? reject(err) : resolve(new Uint8Array(torrent)))
  })
  progress?.end()

  const parsed = await parseTorrent(bytes, output)
  // Write then rename, so a reader never sees half a .torrent (a watched load path might).
  const tmp = `${output}.${process.pid}.part`
  try {
    await writeFile(tmp, bytes)
    await rename(tmp, output)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  io.err(`wrote ${output}: "${parsed.name}", ${parsed.fileCount} file${parsed.fileCount === 1 ? '' : 's'}, ${parsed.length} bytes, ` +
    `piece length ${parsed.pieceLength}, info hash ${parsed.infoHash}${parsed.private ? ', private' : ''}`)
  io.out(composeMagnet(parsed, { torrentBaseUrl: args.publicUrl }))
  return 0
}
