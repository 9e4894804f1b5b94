/**
 * The one options helper: each module declares its options type, one defaults object (TSDoc
 * with the reason for each value) and a spec of checks; `resolveOptions` merges what was given
 * over the defaults, rejects unknown names and bad values with an InvalidOptionError naming the
 * option (`discovery.announceRate`), and returns the resolved options the module keeps. Parts
 * get resolved options at construction and never read anyone else's.
 */
import { InvalidOptionError } from '../core/errors.ts'

/** Checks one value; returns why it is wrong, or undefined when it is fine. */
export type Check = (value: unknown) => string | undefined

export type OptionSpec<T> = { [K in keyof T]: Check }

/** Merges `given` over `defaults`; `undefined` means the default. Throws InvalidOptionError. */
export function resolveOptions<T extends object> (prefix: string, defaults: T, spec: OptionSpec<T>, given: Record<string, unknown> | undefined, passThrough: readonly string[] = []): T {
  const out = { ...defaults } as Record<string, unknown>
  const name = (key: string): string => prefix ? `${prefix}.${key}` : key
  if (given === undefined || given === null) return out as T
  if (typeof given !== 'object') throw new InvalidOptionError(prefix || 'options', `must be an object, got ${typeof given}`)
  for (const [key, value] of Object.entries(given)) {
    if (passThrough.includes(key)) continue
    if (!Object.prototype.hasOwnProperty.call(spec, key)) {
      throw new InvalidOptionError(name(key), `unknown option (known: ${Object.keys(spec).join(', ')})`)
    }
    if (value === undefined) continue
    const why = (spec as Record<string, Check>)[key](value)
    if (why !== undefined) throw new InvalidOptionError(name(key), `${why}, got ${show(value)}`)
    out[key] = value
  }
  return out as T
}

function show (value: unknown): string {
  try { return typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value) } catch { return String(value) }
}

export const integerIn = (min: number, max: number): Check => v =>
  Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? undefined : `must be a whole number from ${min} to ${max}`

export const numberIn = (min: number, max: number): Check => v =>
  typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? undefined : `must be a number from ${min} to ${max}`

export const isBoolean: Check = v => typeof v === 'boolean' ? undefined : 'must be true or false'

export const isString: Check = v => typeof v === 'string' && v.length > 0 ? undefined : 'must be a non-empty string'

export const isFunction: Check = v => typeof v === 'function' ? undefined : 'must be a function'

export const stringList: Check = v => Array.isArray(v) && v.every(s => typeof s === 'string') ? undefined : 'must be a list of strings'

/** Any value passes (objects checked by the module that owns them). */
export const anything: Check = () => undefined

/** Either check passes. */
export const either = (a: Check, b: Check): Check => v => a(v) === undefined || b(v) === undefined ? undefined : `${a(v)}, or ${b(v)}`
