/**
 * Configuration from the environment: every flag `--foo-bar` of `torrent-fish` (serve) can come
 * from `TORRENT_FISH_FOO_BAR`, and a subcommand's flag from `TORRENT_FISH_<COMMAND>_FOO_BAR`
 * (`TORRENT_FISH_TRACKER_PORT`), so a service's environment never leaks into `torrent-fish
 * magnet` and friends. A flag on the command line wins over its variable.
 *
 * Values go through the flag's own parser, so a bad one is reported like a bad flag, naming the
 * variable. Switches take 1/true/yes/on or 0/false/no/off (commander's own `Option.env()` turns a
 * switch on for any value, `TORRENT_FISH_JSON=0` included, hence this module). A repeatable
 * flag takes a comma- or space-separated list.
 */
import { InvalidArgumentError, type Command, type Option } from 'commander'

export const ENV_PREFIX = 'TORRENT_FISH_'

const TRUE = /^(1|true|yes|on)$/i
const FALSE = /^(0|false|no|off)?$/i

/** The variable for one option of `command` (null for --help and --version). */
export function envName (command: Command, option: Option): string | null {
  if (!option.long || option.long === '--help' || option.long === '--version') return null
  const flag = option.long.replace(/^--/, '')
  const sub = command.parent ? `${command.name()}_` : ''
  return `${ENV_PREFIX}${sub}${flag}`.toUpperCase().replace(/[^A-Z0-9]+/g, '_')
}

/** Raised for a variable whose value the flag does not accept; the CLI exits 2 with it. */
export class EnvUsageError extends Error {
  readonly code = 'ERR_INVALID_ENV'
  readonly variable: string
  constructor (variable: string, message: string) {
    super(`${variable}: ${message}`)
    this.name = 'EnvUsageError'
    this.variable = variable
  }
}

/** Sets every option of `command` not given on the command line from its variable, if set. */
export function applyEnv (command: Command, env: Record<string, string | undefined>): void {
  for (const option of command.options) {
    const name = envName(command, option)
    if (name === null) continue
    const raw = env[name]
    if (raw === undefined) continue
    const key = option.attributeName()
    if (command.getOptionValueSource(key) === 'cli') continue
    const value = valueOf(option, name, raw.trim())
    if (value !== undefined) command.setOptionValueWithSource(key, value, 'env')
  }
}

/** The option's value for the variable's text; undefined leaves the option as it is. */
function valueOf (option: Option, name: string, raw: string): unknown {
  const on = option.negate ? false : (option.presetArg ?? true)
  if (!option.required && !option.optional) {
    if (TRUE.test(raw)) return on
    if (FALSE.test(raw)) return undefined
    throw new EnvUsageError(name, `${option.long} is a switch: expected 1, true, yes, on (or 0, false, no, off), got "${raw}".`)
  }
  if (option.optional && (raw === '' || /^true$/i.test(raw))) return on
  if (option.optional && /^false$/i.test(raw)) return undefined
  if (raw === '') throw new EnvUsageError(name, `${option.long} needs a value.`)
  const parse = (text: string, previous: unknown): unknown => {
    if (!option.parseArg) return text
    try {
      return option.parseArg(text, previous)
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new EnvUsageError(name, `${option.long}: ${err.message}`)
      throw err
    }
  }
  const first = parse(raw, undefined)
  // A repeatable flag's parser collects into an array: the variable holds a list.
  if (!Array.isArray(first)) return first
  return raw.split(/[\s,]+/).filter(Boolean).reduce<unknown>((previous, item) => parse(item, previous), undefined)
}

/** The help text saying so, for a command. */
export function envHelp (command: Command): string {
  if (command.parent) {
    const example = command.options.find(o => o.required && o.long)
    return `\nEvery flag can also come from the environment: --foo-bar from ${ENV_PREFIX}${command.name().toUpperCase()}_FOO_BAR` +
      `${example ? ` (${example.long} from ${envName(command, example)})` : ''}; a flag given on the command line wins.`
  }
  return [
    '',
    `Every flag can also come from the environment: --foo-bar from ${ENV_PREFIX}FOO_BAR; a flag given on the`,
    'command line wins. Switches take 1/true/yes/on (or 0/false/no/off), repeatable flags a comma- or',
    'space-separated list. For example:',
    `  ${ENV_PREFIX}LOAD_PATH=/torrents ${ENV_PREFIX}PORT=6881 ${ENV_PREFIX}NO_DHT=1 torrent-fish`,
    `A subcommand's flags: ${ENV_PREFIX}<COMMAND>_FOO_BAR (${ENV_PREFIX}TRACKER_PORT for tracker --port).`
  ].join('\n')
}
