/**
 * An accepted TCP connection served from Node's TCP handle itself, without a net.Socket: the
 * second place torrent-fish reaches into Node's internals (the accept gate is the first;
 * test/adapters/node-tcp-handle.test.ts is the contract, and fails on a Node where the shape
 * moved; without it, `tcpHandleIo()` returns null and every connection gets a net.Socket).
 *
 * Why: a metadata exchange is a connection that lives for a few milliseconds and carries ~3
 * reads and ~2 writes. net.Socket makes each of them a stream: a Duplex with its readable and
 * writable states and listeners at construction, every read pushed through the readable
 * state to a `data` event, every write through the writable state with its callback run on a
 * later tick, and a destroy that takes several ticks to emit `close`. The session needs none
 * of that (it reads chunks and writes whole ticks' output, see wire.ts), and in a same-run
 * comparison of two otherwise identical responders, the handle's own reads and writes cost
 * less per exchange than the socket's (docs/benchmarks.md, *Session 13*).
 *
 * What is used of Node: `process.binding('stream_wrap')` for the shared read/write state
 * (`streamBaseState` and its indices) and `WriteWrap`, and the accepted handle's `onread`,
 * `readStart`, `readStop`, `writeBuffer`, `writev`, `writeQueueSize`, `setNoDelay` and
 * `close`: the calls net.Socket itself makes (lib/internal/stream_base_commons.js).
 *
 * The stream speaks the part of a Node stream a PeerConnection uses in direct mode: `data`,
 * `end`, `error`, `close` and `drain` listeners (one each; the connection's are shared
 * functions called with the stream as `this`), `write` (false past the high-water mark),
 * `writev` (one gathering write, which the connection prefers to corking), `pause`/`resume`
 * and `destroy`. It has no pipes: a
 * rate-limited session keeps net.Socket. A throw from a listener closes this stream with the
 * error (a listener on a net.Socket would take the process down) and the process goes on.
 */
import { getSystemErrorName } from 'node:util'

/** The accepted-connection handle (a TCPWrap), as net.Socket drives it. */
export interface TcpHandle {
  /** Must always be a function: Node aborts the process (a failed assertion) on anything else. */
  onread: (this: TcpHandle, buffer: ArrayBuffer | undefined) => void
  readStart (): number
  readStop (): number
  writeBuffer (req: WriteRequest, data: Uint8Array): number
  writev (req: WriteRequest, chunks: Uint8Array[], allBuffers: boolean): number
  readonly writeQueueSize: number
  setNoDelay (on: boolean): number
  close (callback?: () => void): void
}

interface WriteRequest {
  handle: TcpHandle
  oncomplete: (this: WriteRequest, status: number) => void
  async: boolean
  /** What libuv still reads from while the write is in flight. */
  data?: Uint8Array | Uint8Array[]
  stream?: TcpHandleStream
}

interface StreamWrapBinding {
  streamBaseState: Int32Array
  kReadBytesOrError: number
  kArrayBufferOffset: number
  kLastWriteWasAsync: number
  WriteWrap: new () => WriteRequest
}

/** Queued bytes beyond which write() says "wait for drain", as a net.Socket's default. */
const HIGH_WATER_MARK = 16 * 1024
/** libuv's end of stream. */
const UV_EOF = -4095

let binding: StreamWrapBinding | null | undefined

/** Node's stream state binding, or null on a Node without it (then nothing here is used). */
function streamWrap (): StreamWrapBinding | null {
  if (binding !== undefined) return binding
  binding = null
  try {
    const b = (process as unknown as { binding (name: string): Partial<StreamWrapBinding> }).binding('stream_wrap')
    if (b.streamBaseState instanceof Int32Array && typeof b.WriteWrap === 'function' &&
      typeof b.kReadBytesOrError === 'number' && typeof b.kArrayBufferOffset === 'number' && typeof b.kLastWriteWasAsync === 'number') {
      binding = b as StreamWrapBinding
    }
  } catch { /* no such binding: keep net.Socket */ }
  return binding
}

/** Whether `value` has every method of an accepted TCP handle used here. */
export function isTcpHandle (value: unknown): value is TcpHandle {
  const h = value as Partial<Record<keyof TcpHandle, unknown>> | null
  return h !== null && typeof h === 'object' && typeof h.readStart === 'function' && typeof h.readStop === 'function' &&
    typeof h.writeBuffer === 'function' && typeof h.writev === 'function' && typeof h.close === 'function' &&
    typeof h.setNoDelay === 'function' && typeof h.writeQueueSize === 'number'
}

/** The error a net.Socket would emit for libuv status `status` in `op` (e.g. "read ECONNRESET"). */
function uvError (status: number, op: string): Error {
  let name: string
  try { name = getSystemErrorName(status) } catch { name = `E${-status}` }
  return Object.assign(new Error(`${op} ${name}`), { code: name, errno: status, syscall: op })
}

type Listener = (this: TcpHandleStream, ...args: any[]) => void

const OWNER = Symbol('torrent-fish handle stream')

function onHandleRead (this: TcpHandle, buffer: ArrayBuffer | undefined): void {
  const stream = (this as unknown as Record<symbol, TcpHandleStream | undefined>)[OWNER]
  if (stream) stream.onRead(buffer)
}

/** A closed handle's reads (none should come) go nowhere. */
function ignoreRead (): void {}

function onWriteComplete (this: WriteRequest, status: number): void {
  const stream = this.stream
  this.stream = undefined
  this.data = undefined
  if (stream) stream.onWriteDone(status)
}

export class TcpHandleStream {
  private handle: TcpHandle | null
  private readonly io: StreamWrapBinding
  private dataListener: Listener | null = null
  private endListener: Listener | null = null
  private errorListener: Listener | null = null
  private closeListener: Listener | null = null
  private drainListeners: Listener[] | null = null
  private writesInFlight = 0
  private reading = false
  destroyed = false

  /** Writes libuv has not finished yet (each holds its bytes). */
  get writesPending (): number { return this.writesInFlight }

  constructor (handle: TcpHandle, io: StreamWrapBinding) {
    this.handle = handle
    this.io = io
    ;(handle as unknown as Record<symbol, TcpHandleStream>)[OWNER] = this
    handle.onread = onHandleRead
  }

  /** Starts reading (a connection's listeners are in place by then). */
  start (): void {
    if (this.handle && !this.reading) {
      this.reading = true
      const err = this.handle.readStart()
      if (err !== 0) this.destroy(uvError(err, 'read'))
    }
  }

  /** Nagle off: each tick's output is one write already (what net.Server's `noDelay` does). */
  setNoDelay (): void { this.handle?.setNoDelay(true) }

  on (event: string, fn: Listener): this {
    if (event === 'data') this.dataListener = fn
    else if (event === 'end') this.endListener = fn
    else if (event === 'error') this.errorListener = fn
    else if (event === 'close') this.closeListener = fn
    else if (event === 'drain') (this.drainListeners ??= []).push(fn)
    return this
  }

  /** `drain` only, the one event a connection waits for once. */
  once (event: string, fn: Listener): this {
    if (event === 'drain') {
      const wrapped: Listener = function (this: TcpHandleStream) {
        this.drainListeners = this.drainListeners?.filter(l => l !== wrapped) ?? null
        fn.call(this)
      }
      ;(this.drainListeners ??= []).push(wrapped)
    }
    return this
  }

  pipe (): never {
    throw new Error('a TCP handle stream has no pipes (a rate-limited session keeps net.Socket)')
  }

  pause (): void {
    if (this.handle && this.reading) { this.reading = false; this.handle.readStop() }
  }

  resume (): void { this.start() }

  /** One gathering write (writev(2) where the kernel takes it at once), the chunks never copied. */
  writev (chunks: Uint8Array[]): boolean {
    const handle = this.handle
    if (!handle) return true
    if (chunks.length === 1) return this.write(chunks[0])
    const req = this.request()
    const err = handle.writev(req, chunks, true)
    this.dispatched(req, err, chunks)
    return this.handle === null || this.handle.writeQueueSize < HIGH_WATER_MARK
  }

  /** False when the bytes queued in the kernel's stead pass the high-water mark (wait for `drain`). */
  write (chunk: Uint8Array): boolean {
    const handle = this.handle
    if (!handle) return true // destroyed: dropped, as a destroyed socket drops it
    const req = this.request()
    const err = handle.writeBuffer(req, chunk)
    this.dispatched(req, err, chunk)
    return this.handle === null || this.handle.writeQueueSize < HIGH_WATER_MARK
  }

  destroy (err?: Error): void {
    if (this.destroyed) return
    this.destroyed = true
    const handle = this.handle
    this.handle = null
    this.drainListeners = null
    if (handle) {
      ;(handle as unknown as Record<symbol, TcpHandleStream | undefined>)[OWNER] = undefined
      handle.onread = ignoreRead
      if (this.reading) handle.readStop()
      this.reading = false
      // Writes still in flight are cancelled by the close; their completions find no stream.
      handle.close()
    }
    if (err) this.emit(this.errorListener, err)
    this.emit(this.closeListener)
  }

  /**
   * Lets go of the handle without closing it: reading stopped, no listener called again, the
   * handle free for a net.Socket (the HTTP face hands a connection whose request headers are
   * in to node:http this way). Null when the stream is closed already. No write may be in
   * flight (the caller never wrote).
   */
  release (): TcpHandle | null {
    if (this.destroyed || this.handle === null) return null
    const handle = this.handle
    this.destroyed = true
    this.handle = null
    if (this.reading) handle.readStop()
    this.reading = false
    ;(handle as unknown as Record<symbol, TcpHandleStream | undefined>)[OWNER] = undefined
    handle.onread = ignoreRead
    this.dataListener = this.endListener = this.errorListener = this.closeListener = null
    this.drainListeners = null
    return handle
  }

  /** @internal from the handle's onread. */
  onRead (buffer: ArrayBuffer | undefined): void {
    const { streamBaseState, kReadBytesOrError, kArrayBufferOffset } = this.io
    const nread = streamBaseState[kReadBytesOrError]
    if (nread > 0) {
      if (buffer === undefined) return
      this.emit(this.dataListener, Buffer.from(buffer, streamBaseState[kArrayBufferOffset], nread))
      return
    }
    if (nread === 0) return
    if (nread === UV_EOF) {
      this.emit(this.endListener)
      // A connection that has no end listener (or kept the stream) still lets go of the handle.
      this.destroy()
      return
    }
    this.destroy(uvError(nread, 'read'))
  }

  /** @internal from a write request's completion. */
  onWriteDone (status: number): void {
    this.writesInFlight -= 1
    if (this.destroyed) return
    if (status < 0) return this.destroy(uvError(status, 'write'))
    if (this.writesInFlight === 0 && this.drainListeners !== null && this.drainListeners.length > 0) {
      for (const fn of [...this.drainListeners]) this.emit(fn)
    }
  }

  private request (): WriteRequest {
    const req = new this.io.WriteWrap()
    req.handle = this.handle!
    req.oncomplete = onWriteComplete
    req.async = false
    return req
  }

  private dispatched (req: WriteRequest, err: number, data: Uint8Array | Uint8Array[]): void {
    if (err !== 0) return this.destroy(uvError(err, 'write'))
    const { streamBaseState, kLastWriteWasAsync } = this.io
    if (streamBaseState[kLastWriteWasAsync] !== 0) {
      // libuv reads from these until the completion: keep them referenced till then.
      req.async = true
      req.data = data
      req.stream = this
      this.writesInFlight += 1
    }
  }


  /** Calls a listener; a throw from it closes this stream with the error instead of the process. */
  private emit (fn: Listener | null, arg?: unknown): void {
    if (fn === null) return
    try {
      fn.call(this, arg)
    } catch (err) {
      if (this.destroyed) return
      const error = err instanceof Error ? err : new Error(String(err))
      this.destroy(error)
    }
  }
}

/**
 * Sets TCP_NODELAY on a listening server's socket where the kernel copies it to every
 * accepted socket (Linux clones an accepted socket from its listener, options included), so
 * no accepted connection needs a setsockopt(2) of its own: a syscall per exchange. Returns
 * whether it did; false (another OS, or no handle) leaves it to each connection.
 */
export function inheritNoDelay (server: unknown): boolean {
  if (process.platform !== 'linux') return false
  const handle = (server as { _handle?: { setNoDelay?: (on: boolean) => number } } | null)?._handle
  if (typeof handle?.setNoDelay !== 'function') return false
  try { return handle.setNoDelay(true) === 0 } catch { return false }
}

/** The stream for an accepted handle, or null when this Node lacks what it needs (use net.Socket). */
export function tcpHandleStream (handle: unknown): TcpHandleStream | null {
  const io = streamWrap()
  if (io === null || !isTcpHandle(handle)) return null
  return new TcpHandleStream(handle, io)
}

/** Whether this Node has the binding the handle streams need (the contract test asks). */
export function tcpHandleStreamsAvailable (): boolean {
  return streamWrap() !== null
}
