/**
 * Parsing a .torrent file into what a metadata peer needs.
 *
 * The info dictionary is kept as the exact bytes found in the file: the info hash is the
 * SHA-1 of those bytes, and re-encoding a decoded dict changes them whenever the file has
 * unsorted or otherwise non-canonical keys, which would hand leechers metadata that fails
 * their hash check. So the bencode library walks the top-level dict and we record where
 * the `info` value starts and ends.
 */
import bencode from 'bencode'
import { arr2hex, arr2text, hash } from 'uint8-util'
import { InvalidTorrentError } from './errors.ts'
import { MAX_INFO_SIZE, MAX_TORRENT_FILE_SIZE } from './constants.ts'

/** What torrent-fish knows about one torrent, without its info bytes. */
export interface TorrentRecord {
  /** The hash peers handshake with: SHA-1 of the info dict (v1 and hybrid), else truncated SHA-256 (v2 only). */
  infoHash: string
  /** SHA-1 of the info dict when the torrent has v1 pieces. */
  infoHashV1: string | undefined
  /** Full SHA-256 of the info dict when the torrent is v2 or hybrid (BEP 52). */
  infoHashV2: string | undefined
  name: string
  /** Total content size in bytes. */
  length: number
  fileCount: number
  pieceLength: number
  pieceCount: number
  /** Size of the info dictionary in bytes: the `metadata_size` we advertise. */
  infoSize: number
  private: boolean
  /** Tracker tiers (BEP 12), or one tier from `announce`. */
  announce: string[][]
  /** Web seeds from `url-list` (BEP 19). */
  urlList: string[]
  /** Where the torrent came from (a path, a URL, or a caller's label). */
  source: string | undefined
  /** Byte offset of the info dict inside the .torrent file, for reading it again on demand. */
  infoOffset: number
}

/** A parsed torrent: its record plus the exact info bytes and the original file. */
export interface ParsedTorrent extends TorrentRecord {
  infoBytes: Uint8Array
  torrentBytes: Uint8Array
}

const D = 0x64 // 'd'
const E = 0x65 // 'e'

function text (value: unknown): string | undefined {
  if (value instanceof Uint8Array) return arr2text(value)
  if (typeof value === 'string') return value
  return undefined
}

function isInt (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value)
}

function urlStrings (value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value]
  const out: string[] = []
  for (const item of list) {
    const s = text(item)
    if (s) out.push(s)
  }
  return out
}

function trackerTiers (top: Record<string, unknown>): string[][] {
  const list = top['announce-list']
  if (Array.isArray(list) && list.length > 0) {
    const tiers = list.map(tier => urlStrings(tier)).filter(tier => tier.length > 0)
    if (tiers.length > 0) return tiers
  }
  const one = text(top.announce)
  return one ? [[one]] : []
}

/** Sums the file tree of a v2 info dict (BEP 52): leaves are `'': {length, ...}`. */
function walkFileTree (tree: unknown, pieceLength: number, acc: { length: number, files: number, pieces: number }, depth = 0): void {
  if (depth > 64 || tree === null || typeof tree !== 'object') throw new Error('file tree is malformed')
  for (const [key, node] of Object.entries(tree as Record<string, unknown>)) {
    if (key === '') {
      const len = (node as Record<string, unknown>)?.length
      if (!isInt(len) || len < 0) throw new Error('file tree has a file without a valid length')
      acc.length += len
      acc.files += 1
      acc.pieces += Math.ceil(len / pieceLength)
    } else {
      walkFileTree(node, pieceLength, acc, depth + 1)
    }
  }
}

interface TopLevel {
  dict: Record<string, unknown>
  infoStart: number
  infoEnd: number
}

/** Walks the top-level dict with the bencode library, noting the byte span of `info`. */
function readTopLevel (bytes: Uint8Array): TopLevel {
  if (bytes[0] !== D) throw new Error('not a bencoded dictionary (a .torrent starts with "d")')
  const dec = bencode.decode
  // Prime the decoder's state on our buffer without copying: decode() copies, next() does not.
  dec.data = bytes
  dec.position = 1
  dec.encoding = null
  dec.bytes = bytes.length
  const dict: Record<string, unknown> = {}
  let infoStart = -1
  let infoEnd = -1
  try {
    while (dec.position < bytes.length && bytes[dec.position] !== E) {
      const key = arr2text(dec.buffer())
      const start = dec.position
      const value = dec.next()
      if (!(dec.position > start && dec.position <= bytes.length)) throw new Error('truncated')
      if (key === 'info') { infoStart = start; infoEnd = dec.position }
      dict[key] = value
    }
    if (bytes[dec.position] !== E) throw new Error('truncated')
  } finally {
    dec.data = null
  }
  if (infoStart < 0) throw new Error('has no "info" dictionary')
  return { dict, infoStart, infoEnd }
}

/**
 * Parses a .torrent file. Throws {@link InvalidTorrentError} naming `source` when the bytes
 * are not a usable torrent.
 */
export async function parseTorrent (torrentBytes: Uint8Array, source?: string): Promise<ParsedTorrent> {
  if (!(torrentBytes instanceof Uint8Array)) throw new InvalidTorrentError('expected bytes', source)
  if (torrentBytes.length === 0) throw new InvalidTorrentError('file is empty', source)
  if (torrentBytes.length > MAX_TORRENT_FILE_SIZE) {
    throw new InvalidTorrentError(`file is ${torrentBytes.length} bytes, above the ${MAX_TORRENT_FILE_SIZE}-byte cap`, source)
  }
  let top: TopLevel
  try {
    top = readTopLevel(torrentBytes)
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new InvalidTorrentError(`not a valid .torrent (bencode: ${why === 'truncated' ? 'data is truncated' : why})`, source, { cause: err })
  }
  const info = top.dict.info
  if (info === null || typeof info !== 'object' || Array.isArray(info) || info instanceof Uint8Array) {
    throw new InvalidTorrentError('"info" is not a dictionary', source)
  }
  const infoSize = top.infoEnd - top.infoStart
  if (infoSize > MAX_INFO_SIZE) {
    throw new InvalidTorrentError(`info dictionary is ${infoSize} bytes, above the ${MAX_INFO_SIZE}-byte cap`, source)
  }
  const fields = info as Record<string, unknown>
  const name = text(fields['name.utf-8']) ?? text(fields.name)
  if (!name) throw new InvalidTorrentError('info has no "name"', source)
  const pieceLength = fields['piece length']
  if (!isInt(pieceLength) || pieceLength <= 0) throw new InvalidTorrentError('info has no valid "piece length"', source)

  const pieces = fields.pieces
  const hasV1 = pieces instanceof Uint8Array
  const isV2 = fields['meta version'] === 2 && fields['file tree'] !== undefined
  if (!hasV1 && !isV2) throw new InvalidTorrentError('info has neither v1 "pieces" nor a v2 "file tree"', source)
  if (hasV1 && pieces.length % 20 !== 0) throw new InvalidTorrentError('"pieces" length is not a multiple of 20', source)

  let length = 0
  let fileCount = 0
  let pieceCount = 0
  if (hasV1) {
    pieceCount = pieces.length / 20
    if (isInt(fields.length)) {
      length = fields.length
      fileCount = 1
    } else if (Array.isArray(fields.files)) {
      for (const file of fields.files) {
        const len = (file as Record<string, unknown>)?.length
        if (!isInt(len) || len < 0) throw new InvalidTorrentError('a file in "files" has no valid length', source)
        length += len
        fileCount += 1
      }
    } else {
      throw new InvalidTorrentError('info has neither "length" nor "files"', source)
    }
  } else {
    const acc = { length: 0, files: 0, pieces: 0 }
    try {
      walkFileTree(fields['file tree'], pieceLength, acc)
    } catch (err) {
      throw new InvalidTorrentError((err as Error).message, source)
    }
    length = acc.length
    fileCount = acc.files
    pieceCount = acc.pieces
  }

  const infoBytes = torrentBytes.subarray(top.infoStart, top.infoEnd)
  const infoHashV1 = hasV1 ? await hash(infoBytes as Uint8Array<ArrayBuffer>, 'hex', 'sha-1') : undefined
  const infoHashV2 = isV2 ? await hash(infoBytes as Uint8Array<ArrayBuffer>, 'hex', 'sha-256') : undefined
  const infoHash = infoHashV1 ?? (infoHashV2 as string).slice(0, 40)

  return {
    infoHash,
    infoHashV1,
    infoHashV2,
    name,
    length,
    fileCount,
    pieceLength,
    pieceCount,
    infoSize,
    private: fields.private === 1,
    announce: trackerTiers(top.dict),
    urlList: urlStrings(top.dict['url-list']),
    source,
    infoOffset: top.infoStart,
    infoBytes,
    torrentBytes
  }
}

/** The hex of a 20-byte hash, lower case; for maps keyed by info hash. */
export function hexOf (bytes: Uint8Array): string {
  return arr2hex(bytes)
}
