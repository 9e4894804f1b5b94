/** Parsers for the HTTP face's flags (`--http`, `--public-url`, `--check-web-seeds`); errors name the expected form. */
import { InvalidArgumentError } from 'commander'

export interface HttpListen {
  host?: string
  port: number
}

/** `--http [host:]port`: `8080`, `127.0.0.1:8080`, `[::1]:8080`. */
export function httpListenArg (value: string): HttpListen {
  const v = value.trim()
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(v)
  const port = m ? Number(m[3]) : NaN
  if (!m || !(port >= 0 && port <= 65535)) throw new InvalidArgumentError(`expected [host:]port like 8080 or 127.0.0.1:8080, got "${value}".`)
  const host = m[1] ?? m[2]
  return host ? { host, port } : { port }
}

/** `--public-url URL`: the http(s) base URL clients use to reach the HTTP face. */
export function publicUrlArg (value: string): string {
  let url: URL
  try { url = new URL(value.trim()) } catch { throw new InvalidArgumentError(`expected an http(s) URL, got "${value}".`) }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`expected an http(s) URL, got "${value}".`)
  if (url.search || url.hash) throw new InvalidArgumentError(`must not have a query or fragment, got "${value}".`)
  return url.href.replace(/\/+$/, '')
}

/** `--check-web-seeds [interval]`: seconds, or with an s/m/h suffix; at least 1 s. */
export function intervalArg (value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/i.exec(value.trim())
  if (!m) throw new InvalidArgumentError(`expected an interval like 900, 90s, 15m or 1h, got "${value}".`)
  const seconds = Number(m[1]) * ({ s: 1, m: 60, h: 3600 }[(m[2] ?? 's').toLowerCase() as 's' | 'm' | 'h'])
  if (seconds < 1) throw new InvalidArgumentError(`must be at least 1 second, got "${value}".`)
  return seconds
}
