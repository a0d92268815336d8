/**
 * Development keys: the edge reads its verify keys from `.dev.vars` (wrangler dev loads it by
 * itself), the serf-edge CLI, agent-bridge and the README's door recipes read the signing side
 * from `.serf-edge/dev.env`. The sender's and bridge's are HMAC keys, so one string signs and
 * verifies: a key in `.dev.vars` is usable as is. The development doors are in doors.ts.
 *
 * `.dev.vars` is written only where something is missing: created when absent, and a missing
 * variable is appended; a line already there is never rewritten.
 */
import { appendFile, chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { generateHmacKey } from '../../protocol/signature.ts'
import { secretName } from '../../protocol/wire.ts'
import { DEV_CLUSTER, DEV_SENDER, type DevPaths, DevSetupError } from './config.ts'
import { type DevDoorSecrets, devDoorVars } from './doors.ts'

/** The signing keys the local tools use: the sender's, the bridge's, each door's. */
export interface DevKeys {
  senderKey: string
  bridgeKey: string
  doors: DevDoorSecrets
}

/** The keys, and what was done to `.dev.vars` to have them. */
export interface DevKeysResult {
  keys: DevKeys
  devVars: 'created' | 'appended' | 'unchanged'
  /** The `.dev.vars` variables that were generated now. */
  generated: string[]
}

const SENDER_VAR = secretName('SENDER_KEYS', DEV_SENDER)
const BRIDGE_VAR = secretName('BRIDGE_KEYS', DEV_CLUSTER)

const DEV_VARS_HEADER = `# Development keys for \`wrangler dev\`, written by \`npm start\` (scripts/dev.ts).
# For this machine only: a real edge gets its own keys with \`wrangler secret put\`.
# HMAC keys sign and verify with the same string; .serf-edge/dev.env holds the signing side.
`
const DEV_VARS_APPENDED = `# Added by \`npm start\` (scripts/dev.ts): development keys, this machine only.
`

/**
 * Make sure `.dev.vars` has the dev sender's and dev cluster's keys, and return the signing keys.
 * @example const { keys, generated } = await ensureDevKeys(devPaths(root))
 * @throws {DevSetupError} a variable in `.dev.vars` holds no key this script can sign with
 */
export async function ensureDevKeys(paths: DevPaths): Promise<DevKeysResult> {
  const existing = await readOptional(paths.devVars)
  const vars = existing === undefined ? {} : parseEnv(existing)
  const known = parseEnv((await readOptional(paths.toolsEnv)) ?? '')
  const generated: string[] = []
  const pick = (name: string, knownKey: string | undefined, tool: string): string => {
    const value = vars[name]?.trim()
    if (!value) {
      generated.push(name)
      return generateHmacKey().secret
    }
    const keys = value.split(/\s+/)
    if (knownKey && keys.includes(knownKey)) return knownKey
    const hmac = keys.find((key) => key.startsWith('whsec_'))
    if (hmac) return hmac
    throw new DevSetupError(
      `.dev.vars sets ${name} with no HMAC (whsec_) key npm start can sign with: put the ` +
        `signing key as ${tool} in .serf-edge/dev.env, or delete the ${name} line to have one ` +
        'generated',
    )
  }
  // The Discord seed has no other home until dev.env is written: keep it beside the state.
  const seedFile = join(paths.stateDir, 'discord-dev.seed')
  const seed = (await readOptional(seedFile))?.trim() || known.DISCORD_PRIVATE_KEY
  const doors = devDoorVars(vars, { ...known, DISCORD_PRIVATE_KEY: seed })
  if (doors.secrets.DISCORD_PRIVATE_KEY !== seed) {
    await mkdir(paths.stateDir, { recursive: true })
    await writeFile(seedFile, `${doors.secrets.DISCORD_PRIVATE_KEY}\n`, { mode: 0o600 })
  }
  const keys: DevKeys = {
    senderKey: pick(SENDER_VAR, known.SERF_EDGE_KEY, 'SERF_EDGE_KEY'),
    bridgeKey: pick(BRIDGE_VAR, known.SERF_EDGE_BRIDGE_KEY, 'SERF_EDGE_BRIDGE_KEY'),
    doors: doors.secrets,
  }
  const added: Record<string, string> = {}
  for (const name of generated) added[name] = name === SENDER_VAR ? keys.senderKey : keys.bridgeKey
  Object.assign(added, doors.missing)
  generated.push(...Object.keys(doors.missing))
  // JSON values go in single quotes, which dotenv takes literally.
  const lines = Object.entries(added)
    .map(([name, value]) => (value.startsWith('{') ? `${name}='${value}'\n` : `${name}="${value}"\n`))
    .join('')
  if (existing === undefined) {
    await writeFile(paths.devVars, DEV_VARS_HEADER + lines, { mode: 0o600 })
    return { keys, devVars: 'created', generated }
  }
  if (lines === '') return { keys, devVars: 'unchanged', generated }
  const separator = existing === '' || existing.endsWith('\n') ? '' : '\n'
  await appendFile(paths.devVars, `${separator}${DEV_VARS_APPENDED}${lines}`)
  return { keys, devVars: 'appended', generated }
}

/**
 * Write `.serf-edge/dev.env`: what the serf-edge CLI and agent-bridge need to reach the local
 * edge, in the format `node --env-file` reads. Rewritten on every start, as the port may change.
 */
export async function writeToolsEnv(paths: DevPaths, keys: DevKeys, edgeUrl: string): Promise<void> {
  await mkdir(paths.stateDir, { recursive: true })
  const text = `# DEVELOPMENT KEYS for the local edge that \`npm start\` runs (scripts/dev.ts): this machine
# only, never a real edge. The edge holds the same keys in .dev.vars; delete both files to get
# new ones. Rewritten at every \`npm start\`.
#
#   node --env-file=.serf-edge/dev.env client/cli.ts event deploy v1
#   node --env-file=.serf-edge/dev.env agent-bridge/cli.ts -rpc-addr=<your agent>
SERF_EDGE_URL=${edgeUrl}
SERF_EDGE_CLUSTER=${DEV_CLUSTER}
SERF_EDGE_SENDER=${DEV_SENDER}
SERF_EDGE_KEY=${keys.senderKey}
SERF_EDGE_BRIDGE_KEY=${keys.bridgeKey}

# The development doors (README: Chat-ops and webhooks). Try them with the README's recipes:
#   set -a; . .serf-edge/dev.env; set +a; bash slack-command.sh deploy v1
SLACK_SIGNING_SECRET=${keys.doors.SLACK_SIGNING_SECRET}
DISCORD_PRIVATE_KEY=${keys.doors.DISCORD_PRIVATE_KEY}
GITHUB_WEBHOOK_SECRET=${keys.doors.GITHUB_WEBHOOK_SECRET}
`
  await writeFile(paths.toolsEnv, text, { mode: 0o600 })
  // writeFile keeps the mode of a file that already exists.
  await chmod(paths.toolsEnv, 0o600)
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}
