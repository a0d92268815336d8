/**
 * The Slack door's configuration: apps from the `SLACK_APPS` var, each with its signing secret
 * (`SLACK_SIGNING_SECRET_<APP>`), its workspaces and the chat grants every chat door shares.
 */
import { z } from 'zod'
import { CLUSTER_ID } from '../../../protocol/event.ts'
import { secretName } from '../../../protocol/wire.ts'
import type { ClusterSettings } from '../../config.ts'
import { ConfigError, optionalObjectVar, secretText } from '../../config-vars.ts'
import { type ChatApp, chatAppFields, chatGrantSchema, compileChatApp, parseSection } from '../chat/policy.ts'
import { importSlackSigningSecret, type SlackSigningKey } from './signature.ts'

/** Where Slack's `response_url`s live; follow-ups go nowhere else unless an app allows it. */
export const SLACK_ORIGIN = 'https://hooks.slack.com'

/** A Slack app, received at `POST /v1/slack/{id}/commands` and `/interactions`. */
export interface SlackApp {
  id: string
  signingKey: SlackSigningKey
  chat: ChatApp
}

// Slack's ids, never names: a display name can be changed by its owner and is not unique.
const teamId = z.string().regex(/^T[A-Z0-9]{2,}$/, { error: 'a Slack team id looks like T0123ABCD' })
const userId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, { error: 'a Slack user id looks like U0123ABCD (not a name)' })
const channelId = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, { error: 'a Slack channel id looks like C0123ABCD' })
const ids = <T extends z.ZodType>(id: T) => z.union([z.literal('*'), z.array(id).min(1)])

const appSchema = z.strictObject({
  teams: z.array(teamId).min(1),
  ...chatAppFields,
  channelClusters: z.record(channelId, z.string()).default({}),
  grants: z
    .array(
      chatGrantSchema.safeExtend({
        users: ids(userId).optional(),
        channels: ids(channelId).default('*'),
        roles: z.array(z.string()).max(0, { error: 'Slack sends no roles with a command: grant users' }).default([]),
      }),
    )
    .default([]),
  groups: z.record(z.string(), z.array(userId)).default({}),
})

/**
 * The Slack apps in `env`; none when `SLACK_APPS` is not set (the door is closed).
 * @throws {ConfigError} naming the app and the field
 */
export async function parseSlackApps(
  env: Record<string, unknown>,
  clusters: ReadonlyMap<string, ClusterSettings>,
): Promise<Map<string, SlackApp>> {
  const apps = new Map<string, SlackApp>()
  const raw = optionalObjectVar(env, 'SLACK_APPS')
  if (raw === undefined) return apps
  const parsed = parseSection('SLACK_APPS', z.record(z.string(), appSchema), raw)
  const secrets = new Map<string, string>()
  for (const [id, { teams, ...fields }] of Object.entries(parsed)) {
    if (!CLUSTER_ID.test(id)) throw new ConfigError(`SLACK_APPS: "${id}" is not a valid app id (${CLUSTER_ID})`)
    const secret = secretName('SLACK_SIGNING_SECRET', id)
    if (secrets.has(secret)) throw new ConfigError(`Slack apps "${secrets.get(secret)}" and "${id}" share ${secret}`)
    secrets.set(secret, id)
    const chat = compileChatApp(
      `SLACK_APPS.${id}`,
      { platform: 'slack', id, workspaces: teams },
      fields,
      new Set(clusters.keys()),
    )
    apps.set(id, { id, signingKey: await importSlackSigningSecret(secretText(env, secret)), chat })
  }
  return apps
}
