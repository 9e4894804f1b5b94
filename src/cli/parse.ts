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
