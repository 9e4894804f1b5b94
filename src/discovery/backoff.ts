/**
 * Exponential backoff with jitter: after the n-th consecutive failure wait between half and
 * all of base * 2^(n-1), capped. The random half keeps many torrents that failed together
 * (a tracker went down) from retrying together.
 */
export interface BackoffOptions {
  baseMs: number
  maxMs: number
}

export function backoffDelay (failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, Math.min(30, failures - 1)))
  return Math.round(exp * (0.5 + random() / 2))
}
