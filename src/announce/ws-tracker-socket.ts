/**
 * One WebSocket to one WebTorrent tracker, shared by every torrent announced there. Parses
 * the tracker's JSON messages, reconnects with exponential backoff and jitter when the
 * socket fails or the tracker drops it, and reports its state for status pages. Uses the
 * platform's WebSocket (browsers, Node >= 22), injected so tests can swap it.
 */
import { EventEmitter } from 'events'
import { backoffDelay } from '../util/backoff.ts'

/** The WebSocket constructor shape we need (the WHATWG one). */
export type WebSocketConstructor = new (url: string) => WebSocketLike
export interface WebSocketLike {
  readonly readyState: number
  send (data: string): void
  close (code?: number, reason?: string): void
  addEventListener (type: string, fn: (ev: any) => void): void
}

/** First reconnect delay; doubles per failure. Short, so a restarted tracker is back quickly. */
export const RECONNECT_MIN_MS = 1_000
/** Longest reconnect delay: a dead tracker costs one attempt every 5 minutes. */
export const RECONNECT_MAX_MS = 5 * 60_000
/** Time for the WebSocket handshake before we give up and retry. */
export const CONNECT_TIMEOUT_MS = 15_000
/**
 * Largest tracker message we parse. An offer relayed by the tracker is a few KB of SDP; a
 * tracker (or something pretending to be one) sending more is not worth the memory.
 */
export const MAX_TRACKER_MESSAGE = 256 * 1024

export type TrackerState = 'connecting' | 'open' | 'down' | 'closed'

export interface TrackerStatus {
  url: string
  state: TrackerState
  /** Failed attempts since the last successful connect. */
  failures: number
  lastError: string | undefined
  /** When the next reconnect attempt happens (ms since epoch), while `down`. */
  retryAt: number | undefined
  connectedAt: number | undefined
  messagesIn: number
  messagesOut: number
}

export interface TrackerSocketOptions {
  WebSocket: WebSocketConstructor
  reconnectMinMs?: number
  reconnectMaxMs?: number
  connectTimeoutMs?: number
}

export interface TrackerSocketEvents {
  open: []
  message: [Record<string, unknown>]
  /** The socket failed or closed; a retry is scheduled. `first` is true on the first failure after being up. */
  down: [{ error: string, retryInMs: number, first: boolean }]
  /** A message that is not a JSON object, or too large. */
  invalid: [string]
}

export class TrackerSocket extends EventEmitter<TrackerSocketEvents> {
  readonly url: string
  private readonly options: Required<TrackerSocketOptions>
  private ws: WebSocketLike | null = null
  private state: TrackerState = 'connecting'
  private failures = 0
  private lastError: string | undefined
  private retryAt: number | undefined
  private connectedAt: number | undefined
  private wasUp = true
  private messagesIn = 0
  private messagesOut = 0
  private timer: ReturnType<typeof setTimeout> | null = null

  constructor (url: string, options: TrackerSocketOptions) {
    super()
    this.url = url
    // `??`, not a spread: an option given as undefined means the default.
    this.options = {
      WebSocket: options.WebSocket,
      reconnectMinMs: options.reconnectMinMs ?? RECONNECT_MIN_MS,
      reconnectMaxMs: options.reconnectMaxMs ?? RECONNECT_MAX_MS,
      connectTimeoutMs: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS
    }
    this.connect()
  }

  get isOpen (): boolean { return this.state === 'open' }

  status (): TrackerStatus {
    return {
      url: this.url,
      state: this.state,
      failures: this.failures,
      lastError: this.lastError,
      retryAt: this.retryAt,
      connectedAt: this.connectedAt,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut
    }
  }

  /** Sends a JSON message; false when the socket is not open (the caller re-announces on `open`). */
  send (message: Record<string, unknown>): boolean {
    if (this.state !== 'open' || !this.ws) return false
    try {
      this.ws.send(JSON.stringify(message))
    } catch (err) {
      this.onDown(this.ws, `send failed: ${(err as Error).message}`)
      return false
    }
    this.messagesOut += 1
    return true
  }

  private connect (): void {
    this.state = 'connecting'
    this.retryAt = undefined
    let ws: WebSocketLike
    try {
      ws = new this.options.WebSocket(this.url)
    } catch (err) {
      // A malformed URL throws synchronously: report it like any other failure, on a later turn.
      this.ws = null
      queueMicrotask(() => this.onDown(null, (err as Error).message))
      return
    }
    this.ws = ws
    this.armTimer(() => {
      this.onDown(ws, `no WebSocket handshake within ${this.options.connectTimeoutMs} ms`)
    }, this.options.connectTimeoutMs)
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return
      this.clearTimer()
      this.state = 'open'
      this.failures = 0
      this.lastError = undefined
      this.connectedAt = Date.now()
      this.wasUp = true
      this.emit('open')
    })
    ws.addEventListener('message', (ev: { data: unknown }) => {
      if (this.ws !== ws) return
      this.messagesIn += 1
      this.onData(ev.data)
    })
    ws.addEventListener('error', () => this.onDown(ws, 'WebSocket error'))
    ws.addEventListener('close', (ev: { code?: number, reason?: string }) => {
      this.onDown(ws, `WebSocket closed${ev.code ? ` (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})` : ''}`)
    })
  }

  private onData (data: unknown): void {
    let text: string
    if (typeof data === 'string') text = data
    else if (data instanceof ArrayBuffer) text = new TextDecoder().decode(data)
    else if (data instanceof Uint8Array) text = new TextDecoder().decode(data)
    else return void this.emit('invalid', 'binary message of unknown type')
    if (text.length > MAX_TRACKER_MESSAGE) return void this.emit('invalid', `${text.length}-byte message (cap ${MAX_TRACKER_MESSAGE})`)
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      return void this.emit('invalid', 'message is not JSON')
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) return void this.emit('invalid', 'message is not a JSON object')
    this.emit('message', message as Record<string, unknown>)
  }

  private onDown (ws: WebSocketLike | null, error: string): void {
    if (this.ws !== ws || this.state === 'closed' || this.state === 'down') return
    this.ws = null
    if (ws) { try { ws.close() } catch { /* already closed */ } }
    const first = this.wasUp
    this.wasUp = false
    this.state = 'down'
    this.lastError = error
    const retryInMs = backoffDelay(this.failures + 1, { baseMs: this.options.reconnectMinMs, maxMs: this.options.reconnectMaxMs })
    this.failures += 1
    this.retryAt = Date.now() + retryInMs
    this.armTimer(() => this.connect(), retryInMs)
    this.emit('down', { error, retryInMs, first })
  }

  private armTimer (fn: () => void, ms: number): void {
    this.clearTimer()
    this.timer = setTimeout(fn, ms)
    // A retry timer alone must not keep a Node process alive.
    const t = this.timer as unknown as { unref?: () => void }
    t.unref?.()
  }

  private clearTimer (): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  /** Closes the socket for good. */
  close (): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.clearTimer()
    const ws = this.ws
    this.ws = null
    if (ws) { try { ws.close(1000, 'closing') } catch { /* already closed */ } }
  }
}
