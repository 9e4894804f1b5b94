// Shipped in place of `streamx` (which has no typings) in torrent-fish's declarations: the
// part of its streams that torrent-fish's public classes extend or return.
import { EventEmitter } from './events.js'

export declare class Stream extends EventEmitter {
  readonly destroyed: boolean
  readonly destroying: boolean
  destroy (err?: Error | null): void
}
export declare class Readable extends Stream {
  push (data: unknown): boolean
  read (): unknown
  pause (): this
  resume (): this
  pipe<D> (dest: D, cb?: (err: Error | null) => void): D
}
export declare class Writable extends Stream {
  write (data: unknown): boolean
  end (data?: unknown): this
}
export declare class Duplex extends Readable {
  write (data: unknown): boolean
  end (data?: unknown): this
}
export declare class Transform extends Duplex {}
export declare class PassThrough extends Transform {}
