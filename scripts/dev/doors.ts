/**
 * The development apps `npm start` configures so each door can be tried on one machine: a Slack
 * app (team T0DEV, user U0DEV may fire anything on cluster dev; `danger-*` asks for a
 * confirmation click), a Discord application with a generated Ed25519 pair, and a GitHub hook
 * that fires `deploy` with the commit SHA on a push to main, and the on-call page's development
 * operators (operators.ts). The edge's side goes into `.dev.vars`; the signing side into
 * `.serf-edge/dev.env`. Follow-ups of the development apps go to loopback only, never to a real
 * platform.
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import { DEV_CLUSTER, DevSetupError } from './config.ts'
import { DEV_OPERATORS } from './operators.ts'

/** Ids the development apps accept; README's recipes use them as defaults. */
export const DEV_DOOR_IDS = {
  slackTeam: 'T0DEV',
  slackUser: 'U0DEV',
  discordApplication: '100000000000000001',
  discordGuild: '200000000000000001',
  discordUser: '400000000000000001',
} as const

/** Where follow-ups of the development apps go: a listener the README shows, or nothing. */
const LOOPBACK_REPLIES = 'http://127.0.0.1:9999'

/** The development user may fire and ask anything on the dev cluster; `danger-*` asks first. */
const devGrants = (user: string) => [
  { users: [user], clusters: [DEV_CLUSTER], events: ['*'], queries: ['*'], confirm: ['danger-*'] },
]

/** The apps and the page's operators, as JSON vars for `.dev.vars`. */
export const DEV_DOOR_APPS: Record<string, string> = {
  SLACK_APPS: JSON.stringify({
    dev: {
      teams: [DEV_DOOR_IDS.slackTeam],
      defaultCluster: DEV_CLUSTER,
      responseOrigins: ['loopback'],
      grants: devGrants(DEV_DOOR_IDS.slackUser),
    },
  }),
  DISCORD_APPS: JSON.stringify({
    dev: {
      applicationId: DEV_DOOR_IDS.discordApplication,
      guilds: [DEV_DOOR_IDS.discordGuild],
      defaultCluster: DEV_CLUSTER,
      apiBase: `${LOOPBACK_REPLIES}/discord/api/v10`,
      responseOrigins: ['loopback'],
      grants: devGrants(DEV_DOOR_IDS.discordUser),
    },
  }),
  GITHUB_HOOKS: JSON.stringify({
    dev: {
      rules: [{ event: 'push', ref: 'refs/heads/main', cluster: DEV_CLUSTER, name: 'deploy', payload: '{{after}}' }],
    },
  }),
  OPERATORS: DEV_OPERATORS,
}

/** The signing side of each development door, as the README's recipes read it. */
export interface DevDoorSecrets {
  SLACK_SIGNING_SECRET: string
  /** The 32-byte Ed25519 seed, base64. */
  DISCORD_PRIVATE_KEY: string
  GITHUB_WEBHOOK_SECRET: string
}

/** A door secret: its name in `.dev.vars`, its name in `dev.env`, and how the two relate. */
interface DoorSecret {
  edgeVar: string
  toolVar: keyof DevDoorSecrets
  make: () => string
  /** What the edge holds for a signing secret: the same string for HMAC, a public key else. */
  edgeSide: (secret: string) => string
  symmetric: boolean
}

const hexSecret = () => randomBytes(32).toString('hex')
const hmac = { edgeSide: (secret: string) => secret, symmetric: true }

const DOOR_SECRETS: DoorSecret[] = [
  { edgeVar: 'SLACK_SIGNING_SECRET_DEV', toolVar: 'SLACK_SIGNING_SECRET', make: hexSecret, ...hmac },
  { edgeVar: 'GITHUB_WEBHOOK_SECRET_DEV', toolVar: 'GITHUB_WEBHOOK_SECRET', make: hexSecret, ...hmac },
  {
    edgeVar: 'DISCORD_PUBLIC_KEY_DEV',
    toolVar: 'DISCORD_PRIVATE_KEY',
    make: () => randomBytes(32).toString('base64'),
    edgeSide: discordPublicKey,
    symmetric: false,
  },
]

/**
 * The door vars `.dev.vars` lacks, and the signing side of all of them. A secret already in
 * `.dev.vars` is kept: HMAC secrets are the same on both sides; a Discord public key is kept
 * only with the private key in `dev.env` that it belongs to.
 * @throws {DevSetupError} a Discord public key in `.dev.vars` with no matching private key
 */
export function devDoorVars(
  devVars: Record<string, string | undefined>,
  toolsEnv: Record<string, string | undefined>,
): { missing: Record<string, string>; secrets: DevDoorSecrets } {
  const missing: Record<string, string> = {}
  for (const [name, value] of Object.entries(DEV_DOOR_APPS)) if (!devVars[name]?.trim()) missing[name] = value
  const secrets = {} as DevDoorSecrets
  for (const door of DOOR_SECRETS) {
    const edge = devVars[door.edgeVar]?.trim()
    const known = toolsEnv[door.toolVar]?.trim()
    if (!edge) {
      secrets[door.toolVar] = known || door.make()
      missing[door.edgeVar] = door.edgeSide(secrets[door.toolVar])
    } else if (door.symmetric) {
      secrets[door.toolVar] = edge
    } else if (known && door.edgeSide(known) === edge) {
      secrets[door.toolVar] = known
    } else {
      throw new DevSetupError(
        `.dev.vars sets ${door.edgeVar}, but .serf-edge/dev.env has no ${door.toolVar} that belongs to it: ` +
          `delete the ${door.edgeVar} line to have a new pair generated`,
      )
    }
  }
  return { missing, secrets }
}

/** The public key, hex as Discord shows it, of an Ed25519 seed in base64. */
function discordPublicKey(seed: string): string {
  const bytes = Buffer.from(seed, 'base64')
  if (bytes.length !== 32) throw new DevSetupError('DISCORD_PRIVATE_KEY in .serf-edge/dev.env is not a 32-byte seed')
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), bytes])
  const key = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }))
  return key.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex')
}
