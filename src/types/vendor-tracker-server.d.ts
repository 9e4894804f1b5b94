// bittorrent-tracker's server entry alone: importing the package root would load its client,
// which pulls WebRTC (node-datachannel) in at import.
declare module 'bittorrent-tracker/server' {
  import { EventEmitter } from 'events'
  export default class Server extends EventEmitter {
    constructor (opts?: Record<string, unknown>)
    http: any
    udp4: any
    udp6: any
    ws: any
    torrents: Record<string, any>
    listen (...args: any[]): void
    close (cb?: () => void): void
  }
}
