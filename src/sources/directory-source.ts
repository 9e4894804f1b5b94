/**
 * A local directory as a torrent source: the directory loader, unchanged, fed a stand-in for
 * the peer that turns its adds and removes into the source events. The loader keeps its own
 * scanning, watching and one-warning-per-bad-file rules; a duplicate refused by the source set
 * comes back to it as the DuplicateTorrentError it already reports.
 */
import { EventEmitter } from 'node:events'
import path from 'node:path'
import { DirectoryLoader } from '../node/directory-loader.ts'
import type { MetadataPeer, AddTorrentOptions } from '../core/metadata-peer.ts'
import type { ParsedTorrent, TorrentRecord } from '../core/torrent.ts'
import type { SourceEvents, SourceReport, TorrentSource } from './source.ts'

export class DirectorySource extends EventEmitter<SourceEvents> implements TorrentSource {
  readonly id: string
  readonly loader: DirectoryLoader
  private readonly watchChanges: boolean
  /** Info hash -> file, for the `removed` event (the loader forgets the file first). */
  private readonly files = new Map<string, string>()
  private state: SourceReport

  /**
   * `settled` is awaited after each event: the loader reads files into one reused buffer, so
   * the listener must be done with the parsed torrent before the next file is read.
   */
  constructor (dir: string, options: { watch?: boolean, warn: MetadataPeer['warn'], warnError: MetadataPeer['warnError'], settled?: () => Promise<void> }) {
    super()
    this.id = path.resolve(dir)
    this.watchChanges = options.watch !== false
    this.state = { source: this.id, kind: 'directory', ok: null, torrents: 0, failing: 0, polls: 0, requests: 0, notModified: 0 }
    const self = this
    // Only what DirectoryLoader calls on its peer.
    const stand = {
      async addTorrent (parsed: ParsedTorrent, _options?: AddTorrentOptions): Promise<TorrentRecord> {
        const file = parsed.source ?? ''
        const previous = self.loader.infoHashOf(file)
        const torrent = { location: file, parsed }
        if (previous === undefined) self.emit('added', torrent)
        else {
          if (previous !== parsed.infoHash) self.files.delete(previous)
          self.emit('replaced', torrent, previous)
        }
        self.files.set(parsed.infoHash, file)
        await options.settled?.()
        return parsed
      },
      removeTorrent (infoHash: string): boolean {
        const file = self.files.get(infoHash)
        // A file rewritten with another torrent: its old hash went with the `replaced` event.
        if (file === undefined) return false
        self.files.delete(infoHash)
        self.emit('removed', file, infoHash)
        return true
      },
      warn: options.warn,
      warnError: options.warnError
    }
    this.loader = new DirectoryLoader(stand as unknown as MetadataPeer, dir)
  }

  async start (): Promise<void> {
    const scan = await this.loader.scan()
    this.state = { ...this.state, ok: true, polls: 1, lastPollAt: Date.now(), lastOkAt: Date.now(), failing: scan.failed }
    if (this.watchChanges) this.loader.watch()
    this.emit('poll', this.report())
  }

  report (): SourceReport {
    return { ...this.state, torrents: this.files.size }
  }

  fileOf (location: string): string | undefined {
    return this.loader.infoHashOf(location) !== undefined ? location : undefined
  }

  close (): void {
    this.loader.close()
  }
}
