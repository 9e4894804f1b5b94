/**
 * Torrents by info hash. Holds small records for every torrent and the info bytes either
 * pinned in memory (torrents added as bytes) or in a bounded cache filled on demand by a
 * reader the platform supplies (Node reads the .torrent file again). Lookups by every hash
 * a peer may handshake with: v1, truncated v2, and the MSE obfuscated hash (SHA-1 of
 * "req2" + info hash) that encrypted connections reveal instead of the info hash.
 */
import { EventEmitter } from 'events'
import { hash, hex2arr, text2arr } from 'uint8-util'
import { ByteLru } from './byte-lru.ts'
import { DEFAULT_INFO_CACHE_BYTES } from './constants.ts'
import { DuplicateTorrentError, InvalidTorrentError } from './errors.ts'
import type { ParsedTorrent, TorrentRecord } from './torrent.ts'

/** Reads a torrent's .torrent file bytes again (Node: from its path). */
export type TorrentFileReader = (record: TorrentRecord) => Promise<Uint8Array>

export interface TorrentStoreOptions {
  /** Re-reads .torrent files whose bytes are not pinned; without it every torrent is pinned. */
  reader?: TorrentFileReader
  /** Bytes of info dicts kept by the on-demand cache. */
  cacheBytes?: number
}

export interface AddOptions {
  /** Keep the .torrent bytes in memory (default when no reader is configured). */
  pin?: boolean
  /** Replace a torrent already loaded under the same info hash instead of refusing. */
  replace?: boolean
}

interface Entry {
  record: TorrentRecord
  /** The original .torrent bytes when pinned. */
  pinned: Uint8Array | undefined
  obfuscated: string
}

const REQ2 = text2arr('req2')

async function obfuscatedHash (infoHash: string): Promise<string> {
  const raw = hex2arr(infoHash)
  const buf = new Uint8Array(REQ2.length + raw.length)
  buf.set(REQ2, 0)
  buf.set(raw, REQ2.length)
  return await hash(buf, 'hex', 'sha-1')
}

function strip (parsed: ParsedTorrent): TorrentRecord {
  const { infoBytes: _info, torrentBytes: _file, ...record } = parsed
  return record
}

export interface TorrentStoreEvents {
  added: [TorrentRecord]
  removed: [TorrentRecord]
}

export class TorrentStore extends EventEmitter<TorrentStoreEvents> {
  private readonly entries = new Map<string, Entry>()
  /** Other handshake hashes (v1 / truncated v2 / MSE obfuscated) -> primary info hash. */
  private readonly aliases = new Map<string, string>()
  private readonly cache: ByteLru
  private readonly reader: TorrentFileReader | undefined
  private readonly pending = new Map<string, Promise<Uint8Array>>()

  constructor (options: TorrentStoreOptions = {}) {
    super()
    this.reader = options.reader
    this.cache = new ByteLru(options.cacheBytes ?? DEFAULT_INFO_CACHE_BYTES)
  }

  get size (): number { return this.entries.size }
  get cachedBytes (): number { return this.cache.bytes }

  /** Adds a parsed torrent. Throws {@link DuplicateTorrentError} if its hash is loaded and `replace` is not set. */
  async add (parsed: ParsedTorrent, options: AddOptions = {}): Promise<TorrentRecord> {
    const existing = this.entries.get(parsed.infoHash)
    if (existing && !options.replace) {
      throw new DuplicateTorrentError(parsed.infoHash, existing.record.source, parsed.source)
    }
    const pin = options.pin ?? this.reader === undefined
    const record = strip(parsed)
    const entry: Entry = {
      record,
      // slice() so a pinned torrent does not keep a larger read buffer alive
      pinned: pin ? parsed.torrentBytes.slice() : undefined,
      obfuscated: await obfuscatedHash(parsed.infoHash)
    }
    // The await above may have let a concurrent add of the same hash in.
    const raced = this.entries.get(parsed.infoHash)
    if (raced && raced !== existing && !options.replace) {
      throw new DuplicateTorrentError(parsed.infoHash, raced.record.source, parsed.source)
    }
    if (existing) this.unlink(existing)
    this.entries.set(record.infoHash, entry)
    this.aliases.set(entry.obfuscated, record.infoHash)
    if (record.infoHashV1 && record.infoHashV1 !== record.infoHash) this.aliases.set(record.infoHashV1, record.infoHash)
    if (record.infoHashV2) this.aliases.set(record.infoHashV2.slice(0, 40), record.infoHash)
    if (!pin) this.cache.set(record.infoHash, parsed.infoBytes.slice())
    if (existing) this.emit('removed', existing.record)
    this.emit('added', record)
    return record
  }

  /** Removes a torrent; returns its record, or undefined if it was not loaded. */
  remove (infoHash: string): TorrentRecord | undefined {
    const entry = this.entries.get(infoHash.toLowerCase())
    if (!entry) return undefined
    this.unlink(entry)
    this.emit('removed', entry.record)
    return entry.record
  }

  private unlink (entry: Entry): void {
    const { record } = entry
    this.entries.delete(record.infoHash)
    this.aliases.delete(entry.obfuscated)
    if (record.infoHashV1) this.aliases.delete(record.infoHashV1)
    if (record.infoHashV2) this.aliases.delete(record.infoHashV2.slice(0, 40))
    this.cache.delete(record.infoHash)
  }

  /** The record for a handshake hash (primary, v1, truncated v2). */
  get (infoHash: string): TorrentRecord | undefined {
    const key = infoHash.toLowerCase()
    const entry = this.entries.get(key) ?? this.entries.get(this.aliases.get(key) ?? '')
    return entry?.record
  }

  has (infoHash: string): boolean { return this.get(infoHash) !== undefined }

  /** Resolves the obfuscated hash an MSE-encrypted peer sends (as hex) to a loaded info hash. */
  resolveObfuscated (obfuscatedHex: string): string | undefined {
    const primary = this.aliases.get(obfuscatedHex.toLowerCase())
    return primary !== undefined && this.entries.has(primary) ? primary : undefined
  }

  records (): IterableIterator<TorrentRecord> {
    const it = this.entries.values()
    return (function * () { for (const e of it) yield e.record })()
  }

  /**
   * The exact info-dict bytes of a torrent. Synchronous when pinned or cached, so the hot
   * path serves without a microtask; otherwise re-reads the file and checks it still hashes
   * to the info hash.
   */
  info (infoHash: string): Uint8Array | Promise<Uint8Array> {
    const entry = this.entries.get(infoHash)
    if (!entry) return Promise.reject(new InvalidTorrentError('not loaded', infoHash))
    const { record } = entry
    if (entry.pinned) return entry.pinned.subarray(record.infoOffset, record.infoOffset + record.infoSize)
    const cached = this.cache.get(infoHash)
    if (cached) return cached
    let pending = this.pending.get(infoHash)
    if (!pending) {
      pending = this.reload(record).finally(() => this.pending.delete(infoHash))
      this.pending.set(infoHash, pending)
    }
    return pending
  }

  /** The original .torrent bytes, exactly as loaded. */
  async torrentFile (infoHash: string): Promise<Uint8Array | undefined> {
    const entry = this.entries.get(infoHash.toLowerCase())
    if (!entry) return undefined
    if (entry.pinned) return entry.pinned
    if (!this.reader) return undefined
    const bytes = await this.reader(entry.record)
    await this.verify(entry.record, bytes)
    return bytes
  }

  private async reload (record: TorrentRecord): Promise<Uint8Array> {
    if (!this.reader) throw new InvalidTorrentError('info bytes are not in memory and no reader is configured', record.source)
    const file = await this.reader(record)
    const info = await this.verify(record, file)
    // Only cache if the torrent was not removed or replaced while we read.
    if (this.entries.get(record.infoHash)?.record === record) this.cache.set(record.infoHash, info)
    return info
  }

  private async verify (record: TorrentRecord, file: Uint8Array): Promise<Uint8Array> {
    const info = file.slice(record.infoOffset, record.infoOffset + record.infoSize)
    const algo = record.infoHashV1 ? 'sha-1' : 'sha-256'
    const got = await hash(info as Uint8Array<ArrayBuffer>, 'hex', algo)
    const want = record.infoHashV1 ?? record.infoHashV2
    if (info.length !== record.infoSize || got !== want) {
      throw new InvalidTorrentError(`changed on disk since it was loaded (info hash ${record.infoHash} no longer matches)`, record.source)
    }
    return info
  }

  clear (): void {
    for (const entry of [...this.entries.values()]) this.remove(entry.record.infoHash)
  }
}
