/**
 * Command-line flags as Serf's CLI (Go's `flag` package) reads them: `-flag` or `--flag`,
 * `-flag=value` or `-flag value`, and flags end at the first argument that is not one, at a
 * lone `-` (a positional: `serf-edge event` reads it as "payload from stdin") or after `--`.
 * So `serf event` habits work unchanged, and a payload like `-1` after the name is a payload,
 * not a flag. Both CLIs (`serf-edge`, `agent-bridge`) read their flags with it.
 */
import { DurationError, parseDuration } from './duration.ts'

/**
 * `boolean`: bare means true, `=value` takes Go's bool spellings, a following `true`/`false`
 * is taken too. `duration?`: bare means "the default" (`true`), `=value` or a following token
 * that reads as a duration sets it in milliseconds. `list`: may repeat.
 */
export type FlagKind = 'string' | 'list' | 'boolean' | 'duration?'

type FlagValue<K extends FlagKind> = K extends 'boolean'
  ? boolean
  : K extends 'list'
    ? string[]
    : K extends 'duration?'
      ? number | true
      : string

/** Parsed flags: present only when given. */
export type Flags<S extends Record<string, FlagKind>> = {
  -readonly [N in keyof S]?: FlagValue<S[N]>
}

/** A mistake in how the command was called; `command` names the help to point at. */
export class UsageError extends Error {
  override name = 'UsageError'
  readonly command: string | undefined

  constructor(message: string, command?: string) {
    super(message)
    this.command = command
  }
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False'])

/**
 * Parse `args` against `spec`; positionals are what follows the flags.
 * @example parseFlags(['-coalesce=false', 'deploy', 'v2'], { coalesce: 'boolean' })
 * // → { flags: { coalesce: false }, positionals: ['deploy', 'v2'] }
 * @throws {UsageError} unknown flag, missing or malformed value
 */
export function parseFlags<const S extends Record<string, FlagKind>>(
  args: readonly string[],
  spec: S,
): { flags: Flags<S>; positionals: string[] } {
  const flags: Record<string, unknown> = {}
  let i = 0
  while (i < args.length) {
    const arg = args[i]
    if (arg.length < 2 || !arg.startsWith('-')) break
    i++
    if (arg === '--') break
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1)
    if (body === '' || body.startsWith('-') || body.startsWith('=')) {
      throw new UsageError(`bad flag syntax: ${arg}`)
    }
    const eq = body.indexOf('=')
    const name = eq < 0 ? body : body.slice(0, eq)
    const inline = eq < 0 ? undefined : body.slice(eq + 1)
    if (!Object.hasOwn(spec, name)) throw new UsageError(`flag provided but not defined: -${name}`)
    const next = args[i]
    switch (spec[name]) {
      case 'boolean':
        if (inline !== undefined) flags[name] = parseBool(inline, name)
        else if (next === 'true' || next === 'false') flags[name] = args[i++] === 'true'
        else flags[name] = true
        break
      case 'duration?':
        if (inline !== undefined) flags[name] = optionalDuration(inline, name)
        else if (next !== undefined && isDuration(next)) flags[name] = durationFlag(args[i++], name)
        else flags[name] = true
        if (flags[name] === false) delete flags[name]
        break
      case 'string':
      case 'list': {
        let value = inline
        if (value === undefined) {
          if (next === undefined) throw new UsageError(`flag needs an argument: -${name}`)
          value = args[i++]
        }
        flags[name] = spec[name] === 'list' ? [...((flags[name] as string[]) ?? []), value] : value
        break
      }
    }
  }
  return { flags: flags as Flags<S>, positionals: args.slice(i) }
}

function parseBool(text: string, name: string): boolean {
  if (TRUE.has(text)) return true
  if (FALSE.has(text)) return false
  throw new UsageError(`invalid boolean value "${text}" for -${name}: use true or false`)
}

// -wait=true is the bare flag, -wait=false turns it off, anything else is a timeout.
function optionalDuration(text: string, name: string): number | boolean {
  if (TRUE.has(text)) return true
  if (FALSE.has(text)) return false
  return durationFlag(text, name)
}

function durationFlag(text: string, name: string): number {
  let ms: number
  try {
    ms = parseDuration(text)
  } catch (error) {
    if (!(error instanceof DurationError)) throw error
    throw new UsageError(`invalid value "${text}" for -${name}: use a duration such as 500ms, 30s or 2m`)
  }
  if (ms <= 0) throw new UsageError(`-${name} must be longer than zero`)
  return ms
}

function isDuration(text: string): boolean {
  try {
    parseDuration(text)
    return true
  } catch {
    return false
  }
}
