// Small ambient declarations for the field's libraries that ship no types.
// Only what torrent-fish uses is declared; widen as needed.

declare module 'bencode' {
  interface Decode {
    (data: Uint8Array | string, start?: number, end?: number, encoding?: string): any
    (data: Uint8Array | string, encoding?: string): any
    position: number
    data: Uint8Array | null
    encoding: string | null
    bytes: number
    next(): any
    buffer(): any
  }
  const bencode: {
    encode(value: unknown): Uint8Array
    decode: Decode
    byteLength(value: unknown): number
  }
  export default bencode
}

declare module 'bittorrent-protocol' {
  import { Duplex } from 'streamx'
  export interface WireExtensions { dht?: boolean, fast?: boolean, extended?: boolean }
  export default class Wire extends Duplex {
    constructor (type?: string, peEnabled?: number)
    peerId: string | null
    peerExtensions: WireExtensions
    extensions: WireExtensions
    extendedHandshake: Record<string, unknown>
    peerExtendedHandshake: Record<string, any>
    peerExtendedMapping: Record<string, number>
    hasFast: boolean
    amChoking: boolean
    uploaded: number
    destroyed: boolean
    type: string
    static nativeRC4: boolean
    on (event: string, fn: (...args: any[]) => void): this
    once (event: string, fn: (...args: any[]) => void): this
    emit (event: string, ...args: any[]): boolean
    use (ext: any): void
    handshake (infoHash: string | Uint8Array, peerId: string | Uint8Array, extensions?: WireExtensions): void
    extended (ext: string | number, obj: unknown): void
    bitfield (bits: Uint8Array): void
    haveNone (): void
    setInfoHash (infoHash: string): void
    startEncryption (infoHash: string): void
    setKeepAlive (enable: boolean): void
    destroy (err?: Error): this
    _onMessageLength (buffer: Uint8Array): void
  }
}

declare module 'ut_metadata' {
  const utMetadata: (metadata?: Uint8Array) => any
  export default utMetadata
}

declare module 'magnet-uri' {
  export interface MagnetData {
    infoHash?: string
    infoHashV2?: string
    name?: string | string[]
    dn?: string | string[]
    tr?: string | string[]
    ws?: string | string[]
    xs?: string | string[]
    'x.pe'?: string | string[]
    xl?: string | number
    announce?: string[]
    urlList?: string[]
    peerAddresses?: string[]
    [key: string]: unknown
  }
  function magnet (uri: string): MagnetData
  export function encode (data: MagnetData): string
  export function decode (uri: string): MagnetData
  namespace magnet {
    function decode (uri: string): MagnetData
    function encode (data: MagnetData): string
  }
  export default magnet
}
