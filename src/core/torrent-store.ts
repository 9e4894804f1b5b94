/**
 * Torrents by info hash. Holds small records for every torrent and the info bytes either
 * pinned in memory (torrents added as bytes) or in a bounded cache filled on demand by a
 * reader the platform supplies (Node reads the .torrent file again). Lookups by every hash
 * a peer may handshake with: v1, truncated v2, and the MSE obfuscated hash (SHA-1 of
 * "req2" + info hash) that encrypted connections reveal instead of the info hash.
 */
import { EventEmitter } from 'events'
import { hex2arr, text2arr } from 'uint8-util'
import { digestHex } from './digest.ts'
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

// Per torrent the store keeps its record, one alias per extra handshake hash, and the
// .torrent bytes only when pinned: at 100k torrents every field counts.

const REQ2 = text2arr('req2')

async function obfuscatedHash (infoHash: string): Promise<string> {
  const raw = hex2arr(infoHash)
  const buf = new Uint8Array(REQ2.length + raw.length)
  buf.set(REQ2, 0)
  buf.set(raw, REQ2.length)
  return await digestHex('sha-1', buf)
}

/**
 * Shares equal tracker lists between records: thousands of torrents of one publisher name
 * the same trackers, and each copy would cost a few arrays and strings per torrent.
 */
class Interner {
  private readonly tiers = new Map<string, string[][]>()
  tiersOf (announce: string[][]): string[][] {
    if (announce.length === 0) return EMPTY_TIERS
    const key = announce.map(t => t.join('\n')).join('\n\n')
    let shared = this.tiers.get(key)
    if (!shared) {
      shared = announce
      this.tiers.set(key, shared)
    }
    return shared
  }
}
const EMPTY_TIERS: string[][] = []
const EMPTY_LIST: string[] = []

function strip (parsed: ParsedTorrent, interner: Interner): TorrentRecord {
  return {
    infoHash: parsed.infoHash,
    infoHashV1: parsed.infoHashV1,
    infoHashV2: parsed.infoHashV2,
    name: parsed.name,
    length: parsed.length,
    fileCount: parsed.fileCount,
    pieceLength: parsed.pieceLength,
    pieceCount: parsed.pieceCount,
    infoSize: parsed.infoSize,
    private: parsed.private,
    announce: interner.tiersOf(parsed.announce),
    // slice(): an array grown by push() keeps room for 16 elements; at 100k torrents that is 12 MB.
    urlList: parsed.urlList.length === 0 ? EMPTY_LIST : parsed.urlList.slice(),
    source: parsed.source,
    infoOffset: parsed.infoOffset
  }
}

export interface TorrentStoreEvents {
  added: [TorrentRecord]
  /** Same info hash, new record (trackers, web seeds, file offset may differ): peers stay. */
  updated: [record: TorrentRecord, previous: TorrentRecord]
  removed: [TorrentRecord]
}

export class TorrentStore extends EventEmitter<TorrentStoreEvents> {
  private readonly entries = new Map<string, TorrentRecord>()
  /** The original .torrent bytes of pinned torrents. */
  private readonly pinned = new Map<string, Uint8Array>()
  private readonly interner = new Interner()
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
      throw new DuplicateTorrentError(parsed.infoHash, existing.source, parsed.source)
    }
    const pin = options.pin ?? this.reader === undefined
    const record = strip(parsed, this.interner)
    const obfuscated = await obfuscatedHash(parsed.infoHash)
    // The await above may have let a concurrent add of the same hash in.
    const raced = this.entries.get(parsed.infoHash)
    if (raced && raced !== existing && !options.replace) {
      throw new DuplicateTorrentError(parsed.infoHash, raced.source, parsed.source)
    }
    if (existing) this.unlink(existing, obfuscated)
    this.entries.set(record.infoHash, record)
    // slice() so a pinned torrent does not keep a larger read buffer alive
    if (pin) this.pinned.set(record.infoHash, parsed.torrentBytes.slice())
    this.aliases.set(obfuscated, record.infoHash)
    if (record.infoHashV1 && record.infoHashV1 !== record.infoHash) this.aliases.set(record.infoHashV1, record.infoHash)
    if (record.infoHashV2) this.aliases.set(record.infoHashV2.slice(0, 40), record.infoHash)
    if (existing) this.emit('updated', record, existing)
    else this.emit('added', record)
    return record
  }

  /** Removes a torrent; returns its record, or undefined if it was not loaded. */
  remove (infoHash: string): TorrentRecord | undefined {
    const record = this.entries.get(infoHash.toLowerCase())
    if (!record) return undefined
    this.unlink(record)
    this.emit('removed', record)
    return record
  }

  private unlink (record: TorrentRecord, obfuscated?: string): void {
    this.entries.delete(record.infoHash)
    this.pinned.delete(record.infoHash)
    // The obfuscated alias is recomputed rather than kept per torrent; it is the same for a replacement.
    if (obfuscated) this.aliases.delete(obfuscated)
    else void obfuscatedHash(record.infoHash).then(o => { if (this.aliases.get(o) === record.infoHash && !this.entries.has(record.infoHash)) this.aliases.delete(o) })
    if (record.infoHashV1 && record.infoHashV1 !== record.infoHash) this.aliases.delete(record.infoHashV1)
    if (record.infoHashV2) this.aliases.delete(record.infoHashV2.slice(0, 40))
    this.cache.delete(record.infoHash)
  }

  /** The record for a handshake hash (primary, v1, truncated v2). */
  get (infoHash: string): TorrentRecord | undefined {
    const key = infoHash.toLowerCase()
    return this.entries.get(key) ?? this.entries.get(this.aliases.get(key) ?? '')
  }

  has (infoHash: string): boolean { return this.get(infoHash) !== undefined }

  /** Resolves the obfuscated hash an MSE-encrypted peer sends (as hex) to a loaded info hash. */
  resolveObfuscated (obfuscatedHex: string): string | undefined {
    const primary = this.aliases.get(obfuscatedHex.toLowerCase())
    return primary !== undefined && this.entries.has(primary) ? primary : undefined
  }

  records (): IterableIterator<TorrentRecord> {
    return this.entries.values()
  }

  /**
   * The exact info-dict bytes of a torrent. Synchronous when pinned or cached, so the hot
   * path serves without a microtask; otherwise re-reads the file and checks it still hashes
   * to the info hash.
   */
  info (infoHash: string): Uint8Array | Promise<Uint8Array> {
    const record = this.entries.get(infoHash)
    if (!record) return Promise.reject(new InvalidTorrentError('not loaded', infoHash))
    const pinned = this.pinned.get(infoHash)
    if (pinned) return pinned.subarray(record.infoOffset, record.infoOffset + record.infoSize)
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
    const record = this.entries.get(infoHash.toLowerCase())
    if (!record) return undefined
    const pinned = this.pinned.get(record.infoHash)
    if (pinned) return pinned
    if (!this.reader) return undefined
    const bytes = await this.reader(record)
    await this.verify(record, bytes)
    return bytes
  }

  private async reload (record: TorrentRecord): Promise<Uint8Array> {
    if (!this.reader) throw new InvalidTorrentError('info bytes are not in memory and no reader is configured', record.source)
    const file = await this.reader(record)
    const info = await this.verify(record, file)
    // Only cache if the torrent was not removed or replaced while we read.
    if (this.entries.get(record.infoHash) === record) this.cache.set(record.infoHash, info)
    return info
  }

  private async verify (record: TorrentRecord, file: Uint8Array): Promise<Uint8Array> {
    const info = file.slice(record.infoOffset, record.infoOffset + record.infoSize)
    const algo = record.infoHashV1 ? 'sha-1' : 'sha-256'
    const got = await digestHex(algo, info)
    const want = record.infoHashV1 ?? record.infoHashV2
    if (info.length !== record.infoSize || got !== want) {
      throw new InvalidTorrentError(`changed on disk since it was loaded (info hash ${record.infoHash} no longer matches)`, record.source)
    }
    return info
  }

  clear (): void {
    for (const record of [...this.entries.values()]) this.remove(record.infoHash)
  }
}
