/**
 * Parsing a .torrent file into what a metadata peer needs.
 *
 * The info dictionary is kept as the exact bytes found in the file: the info hash is the
 * SHA-1 of those bytes, and re-encoding a decoded dict changes them whenever the file has
 * unsorted or otherwise non-canonical keys, which would hand leechers metadata that fails
 * their hash check. So a scanner (bencode-scan.ts) finds the spans of the top-level keys and
 * of the info dict's fields, and the bencode library decodes only the small values we keep.
 */
import bencode from 'bencode'
import { arr2text } from 'uint8-util'
import { digestHex } from './digest.ts'
import { InvalidTorrentError } from './errors.ts'
import { MAX_INFO_SIZE, MAX_TORRENT_FILE_SIZE } from './constants.ts'
import { dictEntries, findKey, intAt, stringAt, type DictEntry } from './bencode-scan.ts'

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

/** Decodes the value at `start` with the bencode library, without copying the buffer first. */
function decodeAt (bytes: Uint8Array, start: number): unknown {
  const dec = bencode.decode
  dec.data = bytes
  dec.position = start
  dec.encoding = null
  dec.bytes = bytes.length
  try {
    return dec.next()
  } finally {
    dec.data = null
  }
}

function trackerTiers (bytes: Uint8Array, top: DictEntry[]): string[][] {
  const listEntry = findKey(bytes, top, 'announce-list')
  if (listEntry) {
    const list = decodeAt(bytes, listEntry.valueStart)
    if (Array.isArray(list)) {
      const tiers = list.map(tier => urlStrings(tier)).filter(tier => tier.length > 0)
      if (tiers.length > 0) return tiers
    }
  }
  const one = findKey(bytes, top, 'announce')
  const url = one ? text(decodeAt(bytes, one.valueStart)) : undefined
  return url ? [[url]] : []
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

/** An integer field, or undefined when absent or not an integer. */
function intField (bytes: Uint8Array, entries: DictEntry[], name: string): number | undefined {
  const e = findKey(bytes, entries, name)
  if (!e || bytes[e.valueStart] !== 0x69) return undefined
  const { value } = intAt(bytes, e.valueStart)
  return Number.isSafeInteger(value) ? value : undefined
}

/** A byte-string field's span, or undefined when absent or not a string. */
function stringField (bytes: Uint8Array, entries: DictEntry[], name: string): { start: number, length: number } | undefined {
  const e = findKey(bytes, entries, name)
  if (!e) return undefined
  const c = bytes[e.valueStart]
  if (c < 0x30 || c > 0x39) return undefined
  return stringAt(bytes, e.valueStart)
}

/** BEP 47: whether a file entry's `attr` string contains "l" (a symlink; its target is `symlink path`). */
function isSymlink (bytes: Uint8Array, entries: DictEntry[]): boolean {
  const attr = stringField(bytes, entries, 'attr')
  return attr !== undefined && bytes.subarray(attr.start, attr.start + attr.length).includes(0x6c)
}

/** Sums `length` over the `files` list of a v1 multi-file info dict. */
function sumFiles (bytes: Uint8Array, files: DictEntry, source: string | undefined): { length: number, count: number } {
  if (bytes[files.valueStart] !== 0x6c) throw new InvalidTorrentError('"files" is not a list', source)
  let length = 0
  let count = 0
  let i = files.valueStart + 1
  while (bytes[i] !== 0x65) {
    if (bytes[i] !== 0x64) throw new InvalidTorrentError('a file in "files" is not a dictionary', source)
    const { entries, end } = dictEntries(bytes, i)
    if (isSymlink(bytes, entries)) {
      // BEP 47: a symlink has no content (libtorrent counts it as 0 bytes, whatever `length` says).
    } else {
      const len = intField(bytes, entries, 'length')
      if (len === undefined || len < 0) throw new InvalidTorrentError('a file in "files" has no valid length', source)
      length += len
    }
    count += 1
    i = end
  }
  return { length, count }
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
  let top: { entries: DictEntry[], end: number }
  let info: { entries: DictEntry[], end: number }
  let infoEntry: DictEntry | undefined
  try {
    if (torrentBytes[0] !== 0x64) throw new Error('not a bencoded dictionary (a .torrent starts with "d")')
    top = dictEntries(torrentBytes, 0)
    infoEntry = findKey(torrentBytes, top.entries, 'info')
    if (!infoEntry) throw new InvalidTorrentError('has no "info" dictionary', source)
    if (torrentBytes[infoEntry.valueStart] !== 0x64) throw new InvalidTorrentError('"info" is not a dictionary', source)
    info = dictEntries(torrentBytes, infoEntry.valueStart)
  } catch (err) {
    if (err instanceof InvalidTorrentError) throw err
    const why = err instanceof Error ? err.message : String(err)
    throw new InvalidTorrentError(`not a valid .torrent (bencode: ${why})`, source, { cause: err })
  }
  const bytes = torrentBytes
  const fields = info.entries
  const infoStart = infoEntry.valueStart
  const infoSize = info.end - infoStart
  if (infoSize > MAX_INFO_SIZE) {
    throw new InvalidTorrentError(`info dictionary is ${infoSize} bytes, above the ${MAX_INFO_SIZE}-byte cap`, source)
  }
  const nameSpan = stringField(bytes, fields, 'name.utf-8') ?? stringField(bytes, fields, 'name')
  const name = nameSpan && nameSpan.length > 0 ? arr2text(bytes.subarray(nameSpan.start, nameSpan.start + nameSpan.length)) : undefined
  if (!name) throw new InvalidTorrentError('info has no "name"', source)
  const pieceLength = intField(bytes, fields, 'piece length')
  if (pieceLength === undefined || pieceLength <= 0) throw new InvalidTorrentError('info has no valid "piece length"', source)

  const pieces = stringField(bytes, fields, 'pieces')
  const hasV1 = pieces !== undefined
  const treeEntry = findKey(bytes, fields, 'file tree')
  const isV2 = intField(bytes, fields, 'meta version') === 2 && treeEntry !== undefined
  if (!hasV1 && !isV2) throw new InvalidTorrentError('info has neither v1 "pieces" nor a v2 "file tree"', source)
  if (hasV1 && pieces.length % 20 !== 0) throw new InvalidTorrentError('"pieces" length is not a multiple of 20', source)

  let length = 0
  let fileCount = 0
  let pieceCount = 0
  if (hasV1) {
    pieceCount = pieces.length / 20
    const single = intField(bytes, fields, 'length')
    const files = findKey(bytes, fields, 'files')
    if (single !== undefined) {
      if (single < 0) throw new InvalidTorrentError('info has a negative "length"', source)
      length = single
      fileCount = 1
    } else if (files) {
      const sum = sumFiles(bytes, files, source)
      length = sum.length
      fileCount = sum.count
    } else {
      throw new InvalidTorrentError('info has neither "length" nor "files"', source)
    }
  } else {
    const acc = { length: 0, files: 0, pieces: 0 }
    try {
      walkFileTree(decodeAt(bytes, treeEntry!.valueStart), pieceLength, acc)
    } catch (err) {
      throw new InvalidTorrentError((err as Error).message, source)
    }
    length = acc.length
    fileCount = acc.files
    pieceCount = acc.pieces
  }

  const infoBytes = bytes.subarray(infoStart, info.end)
  const infoHashV1 = hasV1 ? await digestHex('sha-1', infoBytes) : undefined
  const infoHashV2 = isV2 ? await digestHex('sha-256', infoBytes) : undefined
  const infoHash = infoHashV1 ?? (infoHashV2 as string).slice(0, 40)
  const urlEntry = findKey(bytes, top.entries, 'url-list')

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
    private: intField(bytes, fields, 'private') === 1,
    announce: trackerTiers(bytes, top.entries),
    urlList: urlEntry ? urlStrings(decodeAt(bytes, urlEntry.valueStart)) : [],
    source,
    infoOffset: infoStart,
    infoBytes,
    torrentBytes
  }
}
