/**
 * `POST /torrents` (body: .torrent bytes) and `DELETE /torrents/<infohash>`, for operators
 * without shell access to the load directory. Off unless a token is configured; the bearer
 * token is compared in constant time. With a load path, an added torrent is written there so
 * it survives a restart, and the directory loader owns it like any other file.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { unlink, writeFile, rename } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import { parseTorrent, type ParsedTorrent, type TorrentRecord } from '../core/torrent.ts'
import { MAX_TORRENT_FILE_SIZE } from '../core/constants.ts'
import { TorrentFishError } from '../core/errors.ts'
import type { AdminSink as TorrentFish } from './host.ts'
import { parseInfoHash } from './info-hash.ts'
import { sendError, sendJson } from './responses.ts'

/** How long an added file may take to be picked up by the directory watcher before we load it ourselves. */
const WATCH_PICKUP_MS = 3000

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** Whether the request carries `Authorization: Bearer <token>` (constant-time compare). */
export function authorized (req: IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
  return m !== null && timingSafeEqual(digest(m[1]), digest(token))
}

class BodyTooLargeError extends TorrentFishError {
  constructor (limit: number) {
    super('ERR_BODY_TOO_LARGE', `request body is larger than ${limit} bytes`)
    this.name = 'BodyTooLargeError'
  }
}

/** Reads the request body up to `limit` bytes; rejects with BodyTooLargeError beyond. */
async function readBody (req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? NaN)
  if (declared > limit) throw new BodyTooLargeError(limit)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw new BodyTooLargeError(limit)
    chunks.push(chunk)
  }
  return new Uint8Array(Buffer.concat(chunks))
}

/** A request that declares a body (a length above 0, or chunked). */
function hasBody (req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined
}

/**
 * How long a refused connection may stay half-closed so the client reads our answer before
 * we reset it. Its body is not read meanwhile: the socket is paused.
 */
const REFUSED_LINGER_MS = 1000

/**
 * Answers a request whose body we will not read (bad token, wrong method, too large) and
 * closes the connection instead of draining the body: Node's server would otherwise read
 * it to the end to keep the connection alive, so a 100 MiB upload without a token would
 * cost 100 MiB of reading. The socket stops being read once the answer is flushed, gets a
 * FIN so the client sees the answer, and is destroyed shortly after.
 */
export function refuseBody (req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string | number> = {}): void {
  if (!hasBody(req)) return sendError(req, res, status, code, message, headers)
  const socket = req.socket
  // Stop reading now: the parser must not pull the body in while the answer is written.
  socket.pause()
  res.once('finish', () => {
    socket.pause()
    socket.end()
    const timer = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
  })
  sendError(req, res, status, code, message, { ...headers, Connection: 'close' })
}

function summary (record: TorrentRecord): Record<string, unknown> {
  return { infoHash: record.infoHash, name: record.name, length: record.length, files: record.fileCount, private: record.private, source: record.source }
}

/** Waits until the loader serves `infoHash` from `file`, or until a warning names the file. */
function pickedUp (fish: TorrentFish, infoHash: string, file: string): Promise<boolean> {
  return new Promise(resolve => {
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      fish.off('torrent-added', onAdded)
      fish.off('warning', onWarning)
      resolve(ok)
    }
    const onAdded = (r: TorrentRecord): void => { if (r.infoHash === infoHash) done(true) }
    const onWarning = (w: { source?: string }): void => { if (w.source === file) done(false) }
    const timer = setTimeout(() => done(false), WATCH_PICKUP_MS)
    fish.on('torrent-added', onAdded)
    fish.on('warning', onWarning)
  })
}

async function persist (fish: TorrentFish, parsed: ParsedTorrent, loadPath: string): Promise<TorrentRecord> {
  const file = path.join(path.resolve(loadPath), `${parsed.infoHash}.torrent`)
  // Write under a name the loader ignores, then rename: the watcher never sees half a file.
  const tmp = path.join(path.dirname(file), `.${parsed.infoHash}.${process.pid}.tmp`)
  await writeFile(tmp, parsed.torrentBytes, { flag: 'wx', mode: 0o644 })
  const watching = fish.options.watch !== false
  const waiting = watching ? pickedUp(fish, parsed.infoHash, file) : Promise.resolve(false)
  try {
    await rename(tmp, file)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  if (!(await waiting) && fish.getTorrent(parsed.infoHash) === undefined) {
    // No watcher, or it was slow: load the file ourselves (the loader then owns it).
    if (fish.loader) await fish.loader.load(file)
    else await fish.addTorrent(parsed, { source: file })
  }
  const record = fish.getTorrent(parsed.infoHash)
  if (!record) throw new TorrentFishError('ERR_NOT_LOADED', `${file} was written but did not load`)
  return record
}

export async function addTorrentRoute (fish: TorrentFish, req: IncomingMessage, res: ServerResponse, maxBytes = MAX_TORRENT_FILE_SIZE): Promise<void> {
  let bytes: Uint8Array
  try {
    bytes = await readBody(req, maxBytes)
  } catch (err) {
    if (err instanceof BodyTooLargeError) return refuseBody(req, res, 413, err.code, err.message)
    throw err
  }
  let parsed: ParsedTorrent
  try {
    parsed = await parseTorrent(bytes, 'request body')
  } catch (err) {
    return sendError(req, res, 400, (err as TorrentFishError).code ?? 'ERR_INVALID_TORRENT', (err as Error).message)
  }
  const existing = fish.getTorrent(parsed.infoHash)
  if (existing) return sendError(req, res, 409, 'ERR_DUPLICATE_TORRENT', `info hash ${parsed.infoHash} is already loaded`)
  const record = fish.options.loadPath
    ? await persist(fish, parsed, fish.options.loadPath)
    // In memory only: pin it, since there is no file to read it back from.
    : await fish.addTorrent(parsed, { pin: true, source: 'http' })
  sendJson(req, res, 201, { added: summary(record), persisted: fish.options.loadPath !== undefined })
}

export async function removeTorrentRoute (fish: TorrentFish, req: IncomingMessage, res: ServerResponse, segment: string): Promise<void> {
  const infoHash = parseInfoHash(segment)
  if (infoHash === null) return sendError(req, res, 400, 'ERR_BAD_INFO_HASH', 'expected /torrents/<info hash> with 40 hex or 32 base32 characters')
  const record = fish.getTorrent(infoHash)
  if (!record) return sendError(req, res, 404, 'ERR_UNKNOWN_TORRENT', `no torrent with info hash ${infoHash} is loaded`)
  const file = record.source
  let deletedFile = false
  if (file && fish.loader && fish.loader.infoHashOf(file) === record.infoHash) {
    // The loader owns it: remove the file too, or the torrent would come back on restart.
    await unlink(file).catch(err => { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err })
    fish.loader.unload(file)
    deletedFile = true
  }
  fish.removeTorrent(record.infoHash)
  sendJson(req, res, 200, { removed: summary(record), deletedFile })
}
