/**
 * Reads whole .torrent files synchronously into one reused buffer: the directory scan, its
 * rescans and the reader processes (load-reader-child.ts) all read this way. One buffer means
 * no garbage per file; synchronous reads, because on this kind of machine a thread-pool
 * hand-off per syscall costs more than the syscall (see docs/benchmarks.md).
 */
import { openSync, readSync, fstatSync, closeSync } from 'node:fs'
import { MAX_TORRENT_FILE_SIZE } from '../core/constants.ts'
import { identityOf, type FileIdentity } from './load-cache.ts'

/** A file as read: its bytes (a view of a reused buffer) and its mtime. */
export interface FileRead {
  bytes: Uint8Array
  mtimeMs: number
  /** What the load cache records the file as. */
  id: FileIdentity
}

export class SyncFileReader {
  private buf = new Uint8Array(256 * 1024)
  /** Files read, and the time spent reading them: whether they come from the disk or the page cache. */
  reads = 0
  readMs = 0

  /** The file's bytes (valid until the next read) and mtime, or why it could not be read. */
  read (file: string): FileRead | Error {
    const t0 = performance.now()
    try { return this.readFile(file) } finally { this.reads += 1; this.readMs += performance.now() - t0 }
  }

  private readFile (file: string): FileRead | Error {
    let fd: number
    try { fd = openSync(file, 'r') } catch (err) { return err as Error }
    try {
      const st = fstatSync(fd)
      if (!st.isFile()) return new Error('not a regular file')
      if (st.size > MAX_TORRENT_FILE_SIZE) return new Error(`file is ${st.size} bytes, above the ${MAX_TORRENT_FILE_SIZE}-byte cap`)
      if (st.size > this.buf.length) this.buf = new Uint8Array(Math.max(st.size, this.buf.length * 2))
      let n = 0
      while (n < st.size) {
        const got = readSync(fd, this.buf, n, st.size - n, n)
        if (got === 0) break
        n += got
      }
      return { bytes: this.buf.subarray(0, n), mtimeMs: st.mtimeMs, id: identityOf(st) }
    } catch (err) {
      return err as Error
    } finally {
      closeSync(fd)
    }
  }
}
