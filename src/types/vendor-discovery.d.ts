// Ambient declarations for the discovery libraries (no types shipped). Only what
// src/discovery uses; the objects are handled as `any` inside the adapters.

declare module 'bittorrent-tracker' {
  import { EventEmitter } from 'events'
  export class Client extends EventEmitter {
    constructor (opts: Record<string, unknown>)
    start (opts?: Record<string, unknown>): void
    stop (opts?: Record<string, unknown>): void
    update (opts?: Record<string, unknown>): void
    destroy (cb?: (err?: unknown) => void): void
  }
  export class Server extends EventEmitter {
    constructor (opts?: Record<string, unknown>)
    http: any
    udp4: any
    udp6: any
    ws: any
    torrents: Record<string, any>
    listen (...args: any[]): void
    close (cb?: () => void): void
  }
  export default Client
}

declare module 'bittorrent-tracker/websocket-tracker' {
  const WebSocketTracker: any
  export default WebSocketTracker
}

declare module 'bittorrent-dht' {
  const DHT: any
  export default DHT
}

declare module 'bittorrent-lsd' {
  const LSD: any
  export default LSD
}
