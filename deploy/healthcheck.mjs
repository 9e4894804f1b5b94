// The container's HEALTHCHECK: GET /health on the HTTP face and exit 0 only when it answers
// 200 with `"ready": true` (a peer listener that was up is down -> 503 -> unhealthy).
// It reads the address from TORRENT_FISH_HTTP, the same variable the CLI reads for --http, so
// the check follows the configuration instead of a port baked into the image. Plain JS: the
// image carries no TypeScript sources and no curl.
const spec = (process.env.TORRENT_FISH_HTTP ?? '').trim()
const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(spec)
if (!m) {
  console.error(`healthcheck: TORRENT_FISH_HTTP is "${spec}", expected [host:]port: the HTTP face is off, nothing to check`)
  process.exit(1)
}
// A wildcard listener is reached on loopback; a specific address on that address.
let host = m[1] ?? m[2] ?? '127.0.0.1'
if (host === '0.0.0.0') host = '127.0.0.1'
if (host === '::') host = '::1'
const url = `http://${host.includes(':') ? `[${host}]` : host}:${m[3]}/health`

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) })
  const body = await res.json().catch(() => ({}))
  if (res.status === 200 && body.ready === true) {
    console.log(`healthy: ${body.torrents} torrents, ${body.peers} peers`)
    process.exit(0)
  }
  console.error(`unhealthy: ${url} answered ${res.status}${body.reason ? `: ${body.reason}` : ''}`)
} catch (err) {
  console.error(`unhealthy: ${url}: ${err.cause?.code ?? err.message}`)
}
process.exit(1)
