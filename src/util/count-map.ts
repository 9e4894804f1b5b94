/** Counts by key, where a key whose count falls to 0 (or below) is dropped, so the map holds only live keys. */
export function bumpCount (map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}
