/**
 * An RTCDataChannel as a duplex byte stream, the only thing the metadata session needs.
 * Isomorphic: works with the browser's data channels and with Node implementations
 * (@roamhq/wrtc) alike; it never imports one.
 */
import { Duplex } from 'streamx'

/**
 * Largest data channel message we send. Chromium accepts 256 KiB and libwebrtc-based Node
 * implementations 64 KiB; a metadata piece message is 16 KiB plus a few header bytes, so
 * 16 KiB chunks fit every implementation and interleave fairly with other channels.
 */
export const DATA_CHANNEL_CHUNK = 16 * 1024

/**
 * Bytes queued in the channel before a write waits for `bufferedamountlow`. A whole info
 * dict (up to a few MiB) would otherwise sit in the browser's send buffer at once.
 */
export const DATA_CHANNEL_HIGH_WATER = 256 * 1024

/** The parts of RTCDataChannel we use (structural, so tests and Node libraries fit). */
export interface DataChannelLike {
  readonly readyState: string
  readonly bufferedAmount: number
  binaryType: string
  bufferedAmountLowThreshold: number
  label: string
  send (data: Uint8Array): void
  close (): void
  addEventListener (type: string, fn: (ev: any) => void): void
  removeEventListener (type: string, fn: (ev: any) => void): void
}

export class DataChannelStream extends Duplex {
  readonly channel: DataChannelLike
  /** Called once when the stream is destroyed: closes the RTCPeerConnection that carried it. */
  private readonly onDestroy: (() => void) | undefined
  private waitingDrain: (() => void) | null = null
  private readonly bound: Array<[string, (ev: any) => void]> = []

  constructor (channel: DataChannelLike, onDestroy?: () => void) {
    super()
    this.channel = channel
    this.onDestroy = onDestroy
    channel.binaryType = 'arraybuffer'
    channel.bufferedAmountLowThreshold = DATA_CHANNEL_HIGH_WATER / 2
    this.listen('message', (ev: { data: ArrayBuffer | Uint8Array | string }) => {
      const data = ev.data
      // A WebTorrent peer never sends text; treat it as bytes rather than crash the wire.
      const bytes = typeof data === 'string'
        ? new TextEncoder().encode(data)
        : data instanceof Uint8Array ? data : new Uint8Array(data)
      // A data channel cannot be paused; the session's message caps and idle timer bound what a peer can make us hold.
      this.push(bytes)
    })
    this.listen('bufferedamountlow', () => this.drained())
    this.listen('close', () => {
      this.drained()
      this.push(null)
      this.destroy()
    })
    this.listen('error', (ev: { error?: Error, message?: string }) => {
      this.destroy(ev.error ?? new Error(ev.message ?? 'data channel error'))
    })
  }

  private listen (type: string, fn: (ev: any) => void): void {
    this.channel.addEventListener(type, fn)
    this.bound.push([type, fn])
  }

  private drained (): void {
    const cb = this.waitingDrain
    this.waitingDrain = null
    cb?.()
  }

  override _write (data: Uint8Array, cb: (err: Error | null) => void): void {
    const { channel } = this
    if (channel.readyState !== 'open') return cb(new Error(`data channel is ${channel.readyState}`))
    try {
      for (let i = 0; i < data.length; i += DATA_CHANNEL_CHUNK) {
        channel.send(data.subarray(i, Math.min(i + DATA_CHANNEL_CHUNK, data.length)))
      }
    } catch (err) {
      return cb(err as Error)
    }
    if (channel.bufferedAmount > DATA_CHANNEL_HIGH_WATER) this.waitingDrain = () => cb(null)
    else cb(null)
  }

  override _destroy (cb: (err: Error | null) => void): void {
    for (const [type, fn] of this.bound) this.channel.removeEventListener(type, fn)
    this.bound.length = 0
    this.drained()
    try { this.channel.close() } catch { /* already closed */ }
    try { this.onDestroy?.() } catch { /* already closed */ }
    cb(null)
  }
}
