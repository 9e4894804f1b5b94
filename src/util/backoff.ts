/**
 * Exponential backoff with jitter: after the n-th consecutive failure wait between half and
 * all of base * 2^(n-1), capped. The random half keeps many torrents (or tabs) that failed
 * together, because a tracker went down, from retrying together. The one backoff of the
 * project: the announce scheduler, the peer dialer and the WebSocket tracker socket use it.
 */
export interface BackoffOptions {
  /** Wait after the first failure (before jitter). */
  baseMs: number
  /** Longest wait (before jitter). */
  maxMs: number
}

export function backoffDelay (failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, Math.min(30, failures - 1)))
  return Math.round(exp * (0.5 + random() / 2))
}
