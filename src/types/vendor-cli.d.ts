// Ambient declarations for packages used by the CLI and tests that ship no types.
declare module 'create-torrent' {
  function createTorrent (input: unknown, opts: Record<string, unknown>, cb: (err: Error | null, torrent: Uint8Array) => void): void
  export default createTorrent
}
declare module 'webtorrent' {
  const WebTorrent: any
  export default WebTorrent
}
