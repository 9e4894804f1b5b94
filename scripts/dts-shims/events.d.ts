// Shipped in place of `events` in torrent-fish's declarations: a browser-only project has no
// @types/node, and Node's own typings declare the module globally. This is the part of
// EventEmitter torrent-fish's classes expose, typed by their event maps.
type EventMap<T> = Record<keyof T, any[]>
type Typed<T> = {} extends T ? false : true
type Name<T, E extends string | symbol> = Typed<T> extends true ? E | (keyof T & (string | symbol)) : string | symbol
type Params<T, E> = Typed<T> extends true ? (E extends keyof T ? (T[E] extends any[] ? T[E] : never) : any[]) : any[]
type Listener<T, E> = (...args: Params<T, E>) => void

export declare class EventEmitter<T extends EventMap<T> = any> {
  constructor (options?: { captureRejections?: boolean })
  addListener<E extends string | symbol> (eventName: Name<T, E>, listener: Listener<T, E>): this
  on<E extends string | symbol> (eventName: Name<T, E>, listener: Listener<T, E>): this
  once<E extends string | symbol> (eventName: Name<T, E>, listener: Listener<T, E>): this
  prependListener<E extends string | symbol> (eventName: Name<T, E>, listener: Listener<T, E>): this
  prependOnceListener<E extends string | symbol> (eventName: Name<T, E>, listener: Listener<T, E>): this
  removeListener<E extends string | symbol> (eventName: Name<T, E>, listener: Listener<T, E>): this
  off<E extends string | symbol> (eventName: Name<T, E>, listener: Listener<T, E>): this
  removeAllListeners (eventName?: Name<T, string | symbol>): this
  emit<E extends string | symbol> (eventName: Name<T, E>, ...args: Params<T, E>): boolean
  listeners<E extends string | symbol> (eventName: Name<T, E>): Function[]
  rawListeners<E extends string | symbol> (eventName: Name<T, E>): Function[]
  listenerCount<E extends string | symbol> (eventName: Name<T, E>, listener?: Listener<T, E>): number
  eventNames (): Array<string | symbol>
  setMaxListeners (n: number): this
  getMaxListeners (): number
}
export default EventEmitter
