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
import { DuplicateTorrentError, InvalidOptionError, InvalidTorrentError } from './errors.ts'
import { C_FILES, C_INFO_OFFSET, C_INFO_SIZE, C_PIECE_LENGTH, C_PIECES, F_PRIVATE, PackedIndex } from './index-packed.ts'
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

// Per torrent the store keeps one slot of a packed index (typed arrays and a byte heap, see
// index-packed.ts), and the .torrent bytes only when pinned: at 1M torrents every byte counts.

const REQ2 = text2arr('req2')

function obfuscatedHashBytes (infoHash: string): string | Promise<string> {
  const raw = hex2arr(infoHash)
  const buf = new Uint8Array(REQ2.length + raw.length)
  buf.set(REQ2, 0)
  buf.set(raw, REQ2.length)
  return digestHex('sha-1', buf)
}

/**
 * A {@link TorrentRecord} read from the packed index: a flyweight over one slot, made when
 * asked for (by get(), records(), events) and dropped by whoever asked. The info hash is
 * read at once (the hot path and every Map use it); every other field is read from the
 * index on access. Two views of one torrent are equal by `infoHash`, not by identity.
 */
class PackedRecord implements TorrentRecord {
  readonly infoHash: string
  /** @internal */ readonly slot: number
  /** @internal */ readonly index: PackedIndex
  /** @internal */ readonly revision: number
  constructor (index: PackedIndex, slot: number) {
    this.index = index
    this.slot = slot
    this.revision = index.revision[slot]
    this.infoHash = index.infoHash(slot)
  }

  get infoHashV1 (): string | undefined { return this.index.v1Differs.has(this.slot) ? undefined : this.infoHash }
  get infoHashV2 (): string | undefined { return this.index.v2.get(this.slot) }
  get name (): string { return this.index.name(this.slot) }
  get length (): number { return this.index.length[this.slot] }
  get fileCount (): number { return this.index.num(this.slot, C_FILES) }
  get pieceLength (): number { return this.index.num(this.slot, C_PIECE_LENGTH) }
  get pieceCount (): number { return this.index.num(this.slot, C_PIECES) }
  get infoSize (): number { return this.index.num(this.slot, C_INFO_SIZE) }
  get private (): boolean { return (this.index.flags[this.slot] & F_PRIVATE) !== 0 }
  get announce (): string[][] { return this.index.announce(this.slot) }
  get urlList (): string[] { return this.index.urlList(this.slot) }
  get source (): string | undefined { return this.index.source(this.slot) }
  get infoOffset (): number { return this.index.num(this.slot, C_INFO_OFFSET) }

  /** A plain copy (logs, JSON, snapshots of removed torrents). */
  toJSON (): TorrentRecord { return snapshot(this) }
}

function snapshot (r: TorrentRecord): TorrentRecord {
  return {
    infoHash: r.infoHash,
    infoHashV1: r.infoHashV1,
    infoHashV2: r.infoHashV2,
    name: r.name,
    length: r.length,
    fileCount: r.fileCount,
    pieceLength: r.pieceLength,
    pieceCount: r.pieceCount,
    infoSize: r.infoSize,
    private: r.private,
    announce: r.announce,
    urlList: r.urlList,
    source: r.source,
    infoOffset: r.infoOffset
  }
}

export interface TorrentStoreEvents {
  added: [TorrentRecord]
  /** Same info hash, new record (trackers, web seeds, file offset may differ): peers stay. */
  updated: [record: TorrentRecord, previous: TorrentRecord]
  removed: [TorrentRecord]
}

export class TorrentStore extends EventEmitter<TorrentStoreEvents> {
  private readonly index = new PackedIndex()
  /** The original .torrent bytes of pinned torrents, by slot. */
  private readonly pinned = new Map<number, Uint8Array>()
  private readonly cache: ByteLru
  private readonly reader: TorrentFileReader | undefined
  private readonly pending = new Map<string, Promise<Uint8Array>>()

  constructor (options: TorrentStoreOptions = {}) {
    super()
    this.reader = options.reader
    const cacheBytes = options.cacheBytes ?? DEFAULT_INFO_CACHE_BYTES
    if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) throw new InvalidOptionError('cacheBytes', `must be a non-negative integer, got ${String(cacheBytes)}`)
    this.cache = new ByteLru(cacheBytes)
  }

  get size (): number { return this.index.live }
  get cachedBytes (): number { return this.cache.bytes }
  /** The info-dict cache's budget in bytes. */
  get cacheBudget (): number { return this.cache.maxBytes }
  /** Bytes the packed index's buffers hold (hashes, numbers, names, paths, web seeds, lookup tables). */
  get indexBytes (): number { return this.index.bytes }

  /** Adds a parsed torrent. Throws {@link DuplicateTorrentError} if its hash is loaded and `replace` is not set. */
  async add (parsed: ParsedTorrent, options: AddOptions = {}): Promise<TorrentRecord> {
    const existing = this.index.find(parsed.infoHash)
    if (existing >= 0 && !options.replace) {
      throw new DuplicateTorrentError(parsed.infoHash, this.index.source(existing), parsed.source)
    }
    const pin = options.pin ?? this.reader === undefined
    const pendingObfuscated = obfuscatedHashBytes(parsed.infoHash)
    const obfuscated = typeof pendingObfuscated === 'string' ? pendingObfuscated : await pendingObfuscated
    // An await above may have let a concurrent add of the same hash in.
    const raced = this.index.find(parsed.infoHash)
    if (raced >= 0 && raced !== existing && !options.replace) {
      throw new DuplicateTorrentError(parsed.infoHash, this.index.source(raced), parsed.source)
    }
    const slot = raced
    const before = slot >= 0 ? snapshot(new PackedRecord(this.index, slot)) : undefined
    if (before) this.unlinkAliases(slot, before)
    const written = this.index.put({
      hash: hex2arr(parsed.infoHash),
      obfuscated: hex2arr(obfuscated),
      infoHashV1: parsed.infoHashV1,
      infoHashV2: parsed.infoHashV2,
      name: parsed.name,
      length: parsed.length,
      fileCount: parsed.fileCount,
      pieceLength: parsed.pieceLength,
      pieceCount: parsed.pieceCount,
      infoSize: parsed.infoSize,
      private: parsed.private,
      announce: parsed.announce,
      urlList: parsed.urlList,
      source: parsed.source,
      infoOffset: parsed.infoOffset
    }, slot)
    // slice() so a pinned torrent does not keep a larger read buffer alive
    if (pin) this.pinned.set(written, parsed.torrentBytes.slice())
    else this.pinned.delete(written)
    this.index.setPinned(written, pin)
    if (parsed.infoHashV1 && parsed.infoHashV1 !== parsed.infoHash) this.index.aliases.set(parsed.infoHashV1, written)
    if (parsed.infoHashV2) this.index.aliases.set(parsed.infoHashV2.slice(0, 40), written)
    const record = new PackedRecord(this.index, written)
    // Same info hash: an update (peers stay), not a remove + add.
    if (before) this.emit('updated', record, before)
    else this.emit('added', record)
    return record
  }

  /** Removes a torrent; returns (a copy of) its record, or undefined if it was not loaded. */
  remove (infoHash: string): TorrentRecord | undefined {
    const slot = this.index.find(infoHash)
    if (slot < 0) return undefined
    const record = snapshot(new PackedRecord(this.index, slot))
    this.unlinkAliases(slot, record)
    this.index.remove(slot)
    this.pinned.delete(slot)
    this.emit('removed', record)
    return record
  }

  private unlinkAliases (slot: number, record: TorrentRecord): void {
    if (record.infoHashV1 && record.infoHashV1 !== record.infoHash && this.index.aliases.get(record.infoHashV1) === slot) this.index.aliases.delete(record.infoHashV1)
    if (record.infoHashV2 && this.index.aliases.get(record.infoHashV2.slice(0, 40)) === slot) this.index.aliases.delete(record.infoHashV2.slice(0, 40))
    this.cache.delete(record.infoHash)
  }

  /** The record for a handshake hash (primary, v1, truncated v2), any case. */
  get (infoHash: string): TorrentRecord | undefined {
    const slot = this.index.findAny(infoHash)
    return slot < 0 ? undefined : new PackedRecord(this.index, slot)
  }

  has (infoHash: string): boolean { return this.index.findAny(infoHash) >= 0 }

  /**
   * Whether `record` is still what the store holds: not removed, not replaced since it was
   * handed out. (Records are views made on demand, so compare with this, not with `===`.)
   */
  isCurrent (record: TorrentRecord): boolean {
    if (record instanceof PackedRecord && record.index === this.index) {
      return this.index.isLive(record.slot) && this.index.revision[record.slot] === record.revision
    }
    const now = this.get(record.infoHash)
    return now !== undefined && now.source === record.source && now.infoOffset === record.infoOffset
  }

  /** Resolves the obfuscated hash an MSE-encrypted peer sends (as hex) to a loaded info hash. */
  resolveObfuscated (obfuscatedHex: string): string | undefined {
    const slot = this.index.findObfuscated(obfuscatedHex)
    return slot < 0 ? undefined : this.index.infoHash(slot)
  }

  /** Every loaded torrent, as views made one at a time (nothing per torrent is kept). */
  * records (): IterableIterator<TorrentRecord> {
    for (let slot = 0; slot < this.index.slots; slot++) {
      if (this.index.isLive(slot)) yield new PackedRecord(this.index, slot)
    }
  }

  /**
   * The exact info-dict bytes of a torrent. Synchronous when pinned or cached, so the hot
   * path serves without a microtask; otherwise re-reads the file and checks it still hashes
   * to the info hash.
   */
  info (infoHash: string): Uint8Array | Promise<Uint8Array> {
    const cached = this.cache.get(infoHash)
    if (cached) return cached
    const slot = this.index.find(infoHash)
    if (slot < 0) return Promise.reject(new InvalidTorrentError('not loaded', infoHash))
    const pinned = this.pinned.get(slot)
    if (pinned) {
      const offset = this.index.num(slot, C_INFO_OFFSET)
      return pinned.subarray(offset, offset + this.index.num(slot, C_INFO_SIZE))
    }
    let pending = this.pending.get(infoHash)
    if (!pending) {
      pending = this.reload(new PackedRecord(this.index, slot)).finally(() => this.pending.delete(infoHash))
      this.pending.set(infoHash, pending)
    }
    return pending
  }

  /** The original .torrent bytes, exactly as loaded. */
  async torrentFile (infoHash: string): Promise<Uint8Array | undefined> {
    const slot = this.index.find(infoHash)
    if (slot < 0) return undefined
    const pinned = this.pinned.get(slot)
    if (pinned) return pinned
    if (!this.reader) return undefined
    const record = new PackedRecord(this.index, slot)
    const bytes = await this.reader(record)
    await this.verify(record, bytes)
    return bytes
  }

  private async reload (view: PackedRecord): Promise<Uint8Array> {
    // A copy: the slot may be rewritten (a replacement under the same hash) while we read.
    const record = snapshot(view)
    if (!this.reader) throw new InvalidTorrentError('info bytes are not in memory and no reader is configured', record.source)
    const file = await this.reader(record)
    const info = await this.verify(record, file)
    // Only cache if the torrent was not removed or replaced while we read.
    const slot = this.index.find(record.infoHash)
    if (slot === view.slot && this.index.source(slot) === record.source && this.index.num(slot, C_INFO_OFFSET) === record.infoOffset) this.cache.set(record.infoHash, info)
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

  /** Gives back the growth slack of the index's buffers (call after a large load). */
  trim (): void { this.index.trim() }

  clear (): void {
    for (const record of [...this.records()]) this.remove(record.infoHash)
  }
}
