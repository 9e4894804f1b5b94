/**
 * A minimal SOCKS5 CONNECT proxy (RFC 1928, no auth) for tests of `-r/--proxy-host`. It records
 * every destination so a test can prove traffic went through it.
 */
import net from 'node:net'

export interface Socks5Proxy {
  port: number
  connects: string[]
  close (): Promise<void>
}

export async function startSocks5Proxy (): Promise<Socks5Proxy> {
  const connects: string[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer(client => {
    sockets.add(client)
    client.once('data', greeting => {
      if (greeting[0] !== 5) return client.destroy()
      client.write(Buffer.from([5, 0])) // version 5, no authentication
      client.once('data', req => {
        if (req[0] !== 5 || req[1] !== 1) return client.destroy()
        let host: string
        let at: number
        if (req[3] === 1) { host = [...req.subarray(4, 8)].join('.'); at = 8 } else if (req[3] === 3) { const n = req[4]; host = req.subarray(5, 5 + n).toString(); at = 5 + n } else return client.destroy()
        const port = req.readUInt16BE(at)
        connects.push(`${host}:${port}`)
        const upstream = net.connect(port, host, () => {
          client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]))
          client.pipe(upstream).pipe(client)
        })
        sockets.add(upstream)
        upstream.on('error', () => client.destroy())
        client.on('error', () => upstream.destroy())
      })
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    connects,
    close: () => new Promise(resolve => { for (const s of sockets) s.destroy(); server.close(() => resolve()) })
  }
}
