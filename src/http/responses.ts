/**
 * Small response helpers shared by the HTTP routes: every response says what it is
 * (content type, nosniff) and errors are short JSON bodies with a stable `code`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Lets browser pages (and WebTorrent in a tab) fetch public resources from any origin. */
export const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Disposition, ETag'
}

const BASE_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff'
}

/** Writes a whole response; HEAD gets the headers (with the real length) and no body. */
export function send (req: IncomingMessage, res: ServerResponse, status: number, body: string | Uint8Array, headers: Record<string, string | number> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  res.writeHead(status, { ...BASE_HEADERS, 'Content-Length': bytes.length, ...headers })
  if (req.method === 'HEAD' || status === 304) res.end()
  else res.end(bytes)
}

export function sendJson (req: IncomingMessage, res: ServerResponse, status: number, value: unknown, headers: Record<string, string | number> = {}): void {
  send(req, res, status, JSON.stringify(value, null, 2) + '\n', {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers
  })
}

/** An error body: `{ error: { code, message } }`. */
export function sendError (req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string | number> = {}): void {
  sendJson(req, res, status, { error: { code, message } }, headers)
}
