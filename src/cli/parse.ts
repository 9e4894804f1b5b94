/** Argument parsers for commander that name the flag in their errors. */
import { InvalidArgumentError } from 'commander'

export function integer (min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number, got "${value}".`)
    const n = Number(value)
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}, got ${n}.`)
    return n
  }
}

export function hostPort (value: string): string {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim())
  if (!m || !(Number(m[2]) > 0 && Number(m[2]) < 65536)) throw new InvalidArgumentError(`expected host:port, got "${value}".`)
  return value.trim()
}

export function address (value: string): string {
  if (value.trim() === '' || /\s/.test(value)) throw new InvalidArgumentError(`expected an IP address or host name, got "${value}".`)
  return value.trim()
}

export function collect (value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** A byte size: a number of MiB, or with a unit (`512K`, `32M`, `1G`, `0` = no cache). */
export function byteSize (value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(value.trim())
  if (!m) throw new InvalidArgumentError(`expected a size such as 32M, 512K or 1G, got "${value}".`)
  const unit = { '': 2 ** 20, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g']
  const n = Math.round(Number(m[1]) * unit)
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${value} is too large.`)
  return n
}
