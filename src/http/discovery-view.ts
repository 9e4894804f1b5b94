/**
 * What the HTTP face can say about discovery (trackers and their announces). Discovery is a
 * separate module that may or may not be running, and its API may grow; this reads what is
 * there and reports `null` when nothing is, so /health and /metrics degrade instead of failing.
 */

/** One tracker's last known state. */
export interface TrackerReport {
  url: string
  /** Whether its last announce succeeded. */
  ok: boolean
  /** Last announce time (ms since the epoch), if any. */
  lastAnnounce?: number
  /** Why it failed, when it did. */
  error?: string
}

/** A source of discovery state, passed explicitly or found on the service. */
export interface DiscoverySource {
  /** Per tracker reports. */
  trackers?: () => TrackerReport[]
  /** Announces so far by result (e.g. `{ ok: 10, error: 2 }`). */
  announces?: () => Record<string, number>
}

type Loose = Record<string, unknown> | undefined | null

function call<T> (target: Loose, names: string[]): T | undefined {
  if (!target) return undefined
  for (const name of names) {
    const fn = target[name]
    if (typeof fn === 'function') {
      try { return (fn as () => T).call(target) } catch { return undefined }
    }
  }
  return undefined
}

function normaliseTrackers (value: unknown): TrackerReport[] | null {
  if (!Array.isArray(value)) return null
  const out: TrackerReport[] = []
  for (const item of value as Array<Record<string, unknown>>) {
    if (!item || typeof item.url !== 'string') continue
    const error = item.error ?? item.lastError
    const ok = typeof item.ok === 'boolean'
      ? item.ok
      : typeof item.reachable === 'boolean' ? item.reachable : error === undefined || error === null
    const last = item.lastAnnounce ?? item.lastAnnounceAt ?? item.lastSuccess
    out.push({
      url: item.url,
      ok,
      ...(typeof last === 'number' ? { lastAnnounce: last } : {}),
      ...(error !== undefined && error !== null ? { error: String((error as Error)?.message ?? error) } : {})
    })
  }
  return out
}

function normaliseCounts (value: unknown): Record<string, number> | null {
  if (!value || typeof value !== 'object') return null
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v
  return out
}

/** Reads discovery state from an explicit source, else from what the service carries. */
export class DiscoveryView {
  private readonly explicit: DiscoverySource | undefined
  private readonly service: Loose

  constructor (service: object, explicit?: DiscoverySource) {
    this.service = service as Loose
    this.explicit = explicit
  }

  private discovery (): Loose {
    return this.service?.discovery as Loose
  }

  /** Trackers with their last result, or null when no discovery is running or it says nothing. */
  trackers (): TrackerReport[] | null {
    const value = this.explicit?.trackers?.() ?? call<unknown>(this.discovery(), ['trackerReports', 'trackerStatus', 'trackers'])
    return normaliseTrackers(value)
  }

  /** Announces by result, or null. */
  announces (): Record<string, number> | null {
    if (this.explicit?.announces) return normaliseCounts(this.explicit.announces())
    const fromDiscovery = call<unknown>(this.discovery(), ['announceCounts', 'announces'])
    if (fromDiscovery) return normaliseCounts(fromDiscovery)
    const stats = call<Record<string, unknown>>(this.service, ['getStats'])
    return normaliseCounts(stats?.announces)
  }
}
