/**
 * One GET for a torrent source, with every limit a hostile or broken web server calls for:
 * conditional headers (ETag / If-Modified-Since), a timeout on the injected clock, a byte cap
 * enforced while streaming (a 2 GB body is cut off at the cap, never buffered), a
 * Content-Type check, and redirects followed by hand, at most `maxRedirects`, http(s) only.
 * Built on Node's fetch.
 */
import { SourceError } from './errors.ts'
import { systemClock, type Clock } from './clock.ts'

export interface FetchLimits {
  /** Whole request including the body (default 30 s). */
  timeoutMs?: number
  /** Largest body read (default 16 MiB). */
  maxBytes?: number
  /** Redirects followed at most (default 5). */
  maxRedirects?: number
  clock?: Clock
  /** Aborts the request (the source is closing). */
  signal?: AbortSignal
  /** Sent as User-Agent. */
  userAgent?: string
}

export interface Validators {
  etag?: string
  lastModified?: string
}

export type FetchResult =
  | { status: 'not-modified', url: string }
  | { status: 'ok', url: string, bytes: Uint8Array, contentType: string, etag?: string, lastModified?: string }

/** What the caller accepts: media types (no parameters); a body of another type is an error. */
export type TypeCheck = (contentType: string) => boolean

export async function fetchLimited (url: string, validators: Validators, accept: TypeCheck, limits: FetchLimits = {}): Promise<FetchResult> {
  const clock = limits.clock ?? systemClock
  const timeoutMs = limits.timeoutMs ?? 30_000
  const maxBytes = limits.maxBytes ?? 16 * 1024 * 1024
  const maxRedirects = limits.maxRedirects ?? 5
  const controller = new AbortController()
  const onAbort = (): void => controller.abort(new SourceError('ERR_SOURCE_CLOSED', url, 'source closed'))
  if (limits.signal?.aborted) onAbort()
  limits.signal?.addEventListener('abort', onAbort, { once: true })
  const timer = clock.setTimeout(() => controller.abort(new SourceError('ERR_SOURCE_TIMEOUT', url, `no complete answer within ${timeoutMs} ms`)), timeoutMs)
  try {
    let current = url
    for (let hop = 0; ; hop++) {
      const target = new URL(current)
      if (target.protocol !== 'http:' && target.protocol !== 'https:') {
        throw new SourceError('ERR_SOURCE_REDIRECT', url, `redirected to ${current}, which is not http(s)`)
      }
      const headers: Record<string, string> = { 'User-Agent': limits.userAgent ?? 'torrent-fish', Accept: '*/*' }
      if (validators.etag) headers['If-None-Match'] = validators.etag
      if (validators.lastModified) headers['If-Modified-Since'] = validators.lastModified
      let res: Response
      try {
        res = await fetch(current, { headers, redirect: 'manual', signal: controller.signal })
      } catch (err) {
        if (controller.signal.aborted) throw controller.signal.reason
        const cause = (err as { cause?: { code?: string, message?: string } }).cause
        throw new SourceError('ERR_SOURCE_NETWORK', url, `request failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: err })
      }
      if (res.status >= 300 && res.status < 400 && res.status !== 304) {
        await res.body?.cancel().catch(() => {})
        const location = res.headers.get('location')
        if (!location) throw new SourceError('ERR_SOURCE_HTTP', url, `HTTP ${res.status} without a Location`)
        if (hop >= maxRedirects) throw new SourceError('ERR_SOURCE_REDIRECT', url, `more than ${maxRedirects} redirects`)
        current = new URL(location, current).href
        continue
      }
      if (res.status === 304) {
        await res.body?.cancel().catch(() => {})
        return { status: 'not-modified', url: current }
      }
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {})
        throw new SourceError('ERR_SOURCE_HTTP', url, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`)
      }
      const contentType = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase()
      if (!accept(contentType)) {
        await res.body?.cancel().catch(() => {})
        throw new SourceError('ERR_SOURCE_CONTENT_TYPE', url, `unexpected Content-Type ${contentType || '(none)'}`)
      }
      const declared = Number(res.headers.get('content-length') ?? NaN)
      if (declared > maxBytes) {
        await res.body?.cancel().catch(() => {})
        throw new SourceError('ERR_SOURCE_TOO_LARGE', url, `body is ${declared} bytes, above the ${maxBytes}-byte cap; not read`)
      }
      const bytes = await readCapped(res, url, maxBytes, controller, Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined)
      return {
        status: 'ok',
        url: current,
        bytes,
        contentType,
        ...(res.headers.get('etag') ? { etag: res.headers.get('etag')! } : {}),
        ...(res.headers.get('last-modified') ? { lastModified: res.headers.get('last-modified')! } : {})
      }
    }
  } finally {
    clock.clearTimeout(timer)
    limits.signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * Reads a body chunk by chunk; past the cap it aborts the request and says so. With a declared
 * length the chunks are copied into one buffer as they come (a 100 MB manifest is not held
 * twice while joined).
 */
async function readCapped (res: Response, url: string, maxBytes: number, controller: AbortController, declared?: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0)
  let chunks: Uint8Array[] = []
  let into = declared !== undefined && declared > 0 ? new Uint8Array(declared) : null
  let size = 0
  const reader = res.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (size + value.byteLength > maxBytes) {
        controller.abort()
        throw new SourceError('ERR_SOURCE_TOO_LARGE', url, `body exceeds the ${maxBytes}-byte cap; cut off there`)
      }
      if (into !== null && size + value.byteLength <= into.byteLength) {
        into.set(value, size)
      } else {
        // More than declared (the HTTP layer should have refused it): back to a list of chunks.
        if (into !== null) { chunks = [into.subarray(0, size)]; into = null }
        chunks.push(value)
      }
      size += value.byteLength
    }
  } catch (err) {
    if (err instanceof SourceError) throw err
    if (controller.signal.aborted && controller.signal.reason instanceof SourceError) throw controller.signal.reason
    throw new SourceError('ERR_SOURCE_NETWORK', url, `body cut short: ${(err as Error).message}`, { cause: err })
  } finally {
    try { reader.releaseLock() } catch {}
  }
  if (into !== null) return size === into.byteLength ? into : into.subarray(0, size)
  if (chunks.length === 1) return chunks[0]
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) { out.set(c, at); at += c.byteLength }
  return out
}

/** .torrent bodies: the registered type, generic binary, or unlabelled; never HTML or text. */
export const torrentType: TypeCheck = t => t === '' || t === 'application/x-bittorrent' || t === 'application/octet-stream' || t === 'binary/octet-stream'
