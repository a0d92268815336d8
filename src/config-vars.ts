/**
 * Reading configuration out of the Worker's environment: JSON vars, secrets, keys, durations.
 * Shared by the edge's own settings (config.ts) and each door's (src/doors/*): every mistake
 * becomes a ConfigError that names the variable and the field.
 */
import { z } from 'zod'
import { DurationError, parseDuration } from '../protocol/duration.ts'
import { importVerifyKey, KeyFormatError, type VerifyKey } from '../protocol/signature.ts'

/** Thrown when the configuration cannot be used; the message names what is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** A zod field for a duration string (`15m`), parsed to milliseconds. */
export const duration = (what: string) =>
  z.string({ error: `${what} must be a duration string such as "15m"` }).transform((text, ctx) => {
    try {
      return parseDuration(text)
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof DurationError ? error.message : String(error) })
      return z.NEVER
    }
  })

/** A JSON var (a wrangler.toml table arrives as an object, a `.dev.vars` line as text). */
export function objectVar(env: Record<string, unknown>, name: string): unknown {
  const value = env[name]
  if (value === undefined) throw new ConfigError(`${name} is not set (see README, Configuration)`)
  if (typeof value !== 'string') return value
  try {
    return JSON.parse(value)
  } catch {
    throw new ConfigError(`${name} is not valid JSON`)
  }
}

/** {@link objectVar}, or undefined when the var is not set at all (an optional section). */
export function optionalObjectVar(env: Record<string, unknown>, name: string): unknown {
  return env[name] === undefined ? undefined : objectVar(env, name)
}

/** Every issue of a schema failure, each prefixed with the var and field it is about. */
export function issues(name: string, error: z.ZodError): ConfigError {
  const lines = error.issues.map((issue) => `${[name, ...issue.path].join('.')}: ${issue.message}`)
  return new ConfigError(lines.join('; '))
}

/**
 * A secret's text, required.
 * @throws {ConfigError} naming the secret and how to set it
 */
export function secretText(env: Record<string, unknown>, name: string): string {
  const value = env[name]
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(`secret ${name} is not set (wrangler secret put ${name}; locally .dev.vars)`)
  }
  return value.trim()
}

/** The verify keys in a secret: one or more, separated by white space. */
export async function keysFrom(env: Record<string, unknown>, name: string): Promise<VerifyKey[]> {
  const keys: VerifyKey[] = []
  for (const [index, text] of secretText(env, name).split(/\s+/).entries()) {
    try {
      keys.push(await importVerifyKey(text))
    } catch (error) {
      if (error instanceof KeyFormatError) throw new ConfigError(`${name}, key ${index + 1}: ${error.message}`)
      throw error
    }
  }
  return keys
}
