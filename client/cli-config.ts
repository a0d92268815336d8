/**
 * Where the CLI finds the edge URL, cluster, sender and key: a flag, else an environment
 * variable, else the JSON config file. Resolved once into one typed object; nothing else in the
 * CLI reads the environment.
 */
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { z } from 'zod'
import { UsageError } from '../protocol/flags.ts'

/** What every edge command needs, fully resolved. */
export interface EdgeTarget {
  edgeUrl: string
  cluster: string
  sender: string
  key: string[]
}

type Field = keyof EdgeTarget

/** What the commands about operators need: they name no cluster. */
export type SenderTarget = Omit<EdgeTarget, 'cluster'>

/** What was found, and where each value came from (to name it in an error). */
export interface EdgeSettings {
  values: Partial<EdgeTarget>
  sources: Partial<Record<Field, string>>
  configPath: string
}

/** The flags that name the edge, shared by `event`, `status` and `keygen`. */
export const EDGE_FLAGS = {
  'edge-url': 'string',
  cluster: 'string',
  sender: 'string',
  key: 'list',
  config: 'string',
} as const

/** {@link EDGE_FLAGS} without `-cluster`, for the commands that name no cluster. */
export const SENDER_FLAGS = {
  'edge-url': 'string',
  sender: 'string',
  key: 'list',
  config: 'string',
} as const

/** Flag, environment variable and config-file key of each setting. */
export const SETTINGS: Record<Field, { flag: keyof typeof EDGE_FLAGS; env: string; what: string }> = {
  edgeUrl: { flag: 'edge-url', env: 'SERF_EDGE_URL', what: 'edge URL' },
  cluster: { flag: 'cluster', env: 'SERF_EDGE_CLUSTER', what: 'cluster' },
  sender: { flag: 'sender', env: 'SERF_EDGE_SENDER', what: 'sender id' },
  key: { flag: 'key', env: 'SERF_EDGE_KEY', what: 'signing key' },
}

const configFileSchema = z.strictObject({
  edgeUrl: z.string().optional(),
  cluster: z.string().optional(),
  sender: z.string().optional(),
  key: z.union([z.string(), z.array(z.string())]).optional(),
})

type Env = Readonly<Record<string, string | undefined>>

/** `$XDG_CONFIG_HOME/serf-edge/config.json`, else `~/.config/serf-edge/config.json`. */
export function defaultConfigPath(env: Env): string {
  const xdg = env.XDG_CONFIG_HOME
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config')
  return join(base, 'serf-edge', 'config.json')
}

/**
 * Resolve the edge settings, flag > env > file, per setting.
 * @throws {UsageError} the config file named by `-config` is missing, or any config file is bad
 */
export async function resolveEdgeSettings(
  flags: {
    'edge-url'?: string
    cluster?: string
    sender?: string
    key?: string[]
    config?: string
  },
  env: Env,
): Promise<EdgeSettings> {
  const configPath = flags.config ?? defaultConfigPath(env)
  const file = await readConfigFile(configPath, flags.config !== undefined)
  const settings: EdgeSettings = { values: {}, sources: {}, configPath }
  const fromFlags = { ...flags, key: flags.key?.join(' ') }
  const fromFile = { ...file, key: typeof file.key === 'string' ? file.key : file.key?.join(' ') }
  for (const field of Object.keys(SETTINGS) as Field[]) {
    const { flag, env: envName } = SETTINGS[field]
    const candidates: [string | undefined, string][] = [
      [fromFlags[flag], `flag -${flag}`],
      [env[envName], `environment variable ${envName}`],
      [fromFile[field], `"${field}" in ${configPath}`],
    ]
    const found = candidates.find(([value]) => value !== undefined && value.trim() !== '')
    if (!found) continue
    const [value, source] = found
    settings.sources[field] = source
    if (field === 'key') settings.values.key = value!.split(/[\s,]+/).filter(Boolean)
    else settings.values[field] = value!.trim()
  }
  return settings
}

/**
 * The settings a command needs, or one error naming every missing one and how to set it.
 * @throws {UsageError}
 */
export function requireEdgeTarget(settings: EdgeSettings, command: string): EdgeTarget {
  return requireSettings(settings, command, Object.keys(SETTINGS) as Field[]) as EdgeTarget
}

/**
 * {@link requireEdgeTarget} without the cluster, for the commands that name none.
 * @throws {UsageError}
 */
export function requireSenderTarget(settings: EdgeSettings, command: string): SenderTarget {
  const { edgeUrl, sender, key } = requireSettings(settings, command, ['edgeUrl', 'sender', 'key'])
  return { edgeUrl: edgeUrl!, sender: sender!, key: key! }
}

function requireSettings(settings: EdgeSettings, command: string, fields: Field[]): Partial<EdgeTarget> {
  const missing = fields.filter((field) => !settings.values[field])
  if (missing.length === 0) return settings.values
  const lines = missing.map((field) => {
    const { flag, env, what } = SETTINGS[field]
    const how = `set -${flag}, ${env}, or "${field}" in ${settings.configPath}`
    const hint = field === 'key' ? ' (no key yet? run: serf-edge keygen -sender NAME)' : ''
    return `  ${`${what}:`.padEnd(13)}${how}${hint}`
  })
  const names = missing.map((field) => SETTINGS[field].what).join(', ')
  throw new UsageError(`missing ${names}:\n${lines.join('\n')}`, command)
}

async function readConfigFile(path: string, explicit: boolean): Promise<z.infer<typeof configFileSchema>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && !explicit) return {}
    throw new UsageError(`cannot read config file ${path}: ${code ?? (error as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new UsageError(`config file ${path} is not valid JSON: ${(error as Error).message}`)
  }
  const parsed = configFileSchema.safeParse(json)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) =>
      issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
    )
    throw new UsageError(`config file ${path}: ${problems.join('; ')} (allowed keys: edgeUrl, cluster, sender, key)`)
  }
  return parsed.data
}
