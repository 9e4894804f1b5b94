/**
 * Outgoing connections through a SOCKS5 proxy (`-r host:port`), as libtorrent's proxy
 * setting did for the original torrent-fish. The `socks` package speaks the protocol.
 */
import type net from 'node:net'
import { SocksClient } from 'socks'
import { InvalidOptionError } from '../core/errors.ts'
import { parseHostPort as parse } from '../util/address.ts'

/** Parses `host:port` for an option; InvalidOptionError naming it otherwise. */
export function parseHostPort (value: string, option: string): { host: string, port: number } {
  const parsed = parse(value)
  if (!parsed) throw new InvalidOptionError(option, `expected host:port, got "${value}"`)
  return parsed
}

export function socksConnector (proxy: string): (host: string, port: number) => Promise<net.Socket> {
  const { host, port } = parseHostPort(proxy, 'proxy')
  return async (destHost, destPort) => {
    const { socket } = await SocksClient.createConnection({
      proxy: { host, port, type: 5 },
      command: 'connect',
      destination: { host: destHost, port: destPort },
      timeout: 10_000
    })
    return socket
  }
}
