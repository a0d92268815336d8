/**
 * The Discord door's configuration: applications from the `DISCORD_APPS` var, each with its
 * public key (`DISCORD_PUBLIC_KEY_<APP>`), its guilds and the chat grants every chat door shares.
 */
import { z } from 'zod'
import { CLUSTER_ID } from '../../../protocol/event.ts'
import { secretName } from '../../../protocol/wire.ts'
import type { ClusterSettings } from '../../config.ts'
import { ConfigError, optionalObjectVar, secretText } from '../../config-vars.ts'
import { type ChatApp, chatAppFields, compileChatApp, parseSection } from '../chat/policy.ts'
import { CUSTOM_ID_PREFIX, MAX_CUSTOM_ID } from './render.ts'
import { DiscordKeyError, type DiscordPublicKey, importDiscordKey } from './signature.ts'

/** Discord's API, where follow-ups edit the original response. */
export const DISCORD_API = 'https://discord.com/api/v10'

/** A Discord application, received at `POST /v1/discord/{id}/interactions`. */
export interface DiscordApp {
  id: string
  /** Discord's id of the application; interactions name it, follow-up URLs carry it. */
  applicationId: string
  publicKey: DiscordPublicKey
  /** Where follow-ups go, without a trailing slash; Discord's own API unless a test says otherwise. */
  apiBase: string
  chat: ChatApp
}

/**
 * A button's value is `<cluster>:pnd_<32 hex digits>` (chat/flow.ts): with the longest prefix,
 * this many characters of `custom_id` are left for the cluster id.
 */
export const MAX_BUTTON_CLUSTER_ID = MAX_CUSTOM_ID - CUSTOM_ID_PREFIX.cancel.length - ':pnd_'.length - 32

const snowflake = z.string().regex(/^\d{1,20}$/, { error: 'a Discord id (snowflake) is a string of digits' })

const appSchema = z.strictObject({
  applicationId: snowflake,
  guilds: z.array(snowflake).min(1),
  apiBase: z.url({ protocol: /^https?$/ }).default(DISCORD_API),
  ...chatAppFields,
})

/**
 * The Discord applications in `env`; none when `DISCORD_APPS` is not set (the door is closed).
 * @throws {ConfigError} naming the application and the field
 */
export async function parseDiscordApps(
  env: Record<string, unknown>,
  clusters: ReadonlyMap<string, ClusterSettings>,
): Promise<Map<string, DiscordApp>> {
  const apps = new Map<string, DiscordApp>()
  const raw = optionalObjectVar(env, 'DISCORD_APPS')
  if (raw === undefined) return apps
  const parsed = parseSection('DISCORD_APPS', z.record(z.string(), appSchema), raw)
  const secrets = new Map<string, string>()
  for (const [id, { applicationId, guilds, apiBase, ...fields }] of Object.entries(parsed)) {
    const where = `DISCORD_APPS.${id}`
    if (!CLUSTER_ID.test(id)) throw new ConfigError(`DISCORD_APPS: "${id}" is not a valid app id (${CLUSTER_ID})`)
    const secret = secretName('DISCORD_PUBLIC_KEY', id)
    if (secrets.has(secret)) throw new ConfigError(`Discord apps "${secrets.get(secret)}" and "${id}" share ${secret}`)
    secrets.set(secret, id)
    const chat = compileChatApp(
      where,
      { platform: 'discord', id, workspaces: guilds },
      fields,
      new Set(clusters.keys()),
    )
    checkButtonsFit(where, chat, clusters)
    apps.set(id, {
      id,
      applicationId,
      publicKey: await publicKey(env, secret),
      apiBase: apiBase.replace(/\/+$/, ''),
      chat,
    })
  }
  return apps
}

async function publicKey(env: Record<string, unknown>, secret: string): Promise<DiscordPublicKey> {
  try {
    return await importDiscordKey(secretText(env, secret))
  } catch (error) {
    if (error instanceof DiscordKeyError) {
      throw new ConfigError(`${secret}: ${error.message} (the application's Public Key in the Developer Portal)`)
    }
    throw error
  }
}

/** Refuse a cluster the app may fire into whose id leaves a confirmation's button too long. */
function checkButtonsFit(where: string, chat: ChatApp, clusters: ReadonlyMap<string, ClusterSettings>): void {
  const reachable = chat.grants.some((grant) => grant.clusters === '*')
    ? [...clusters.keys()]
    : chat.grants.flatMap((grant) => grant.clusters as string[])
  const long = reachable.find((cluster) => cluster.length > MAX_BUTTON_CLUSTER_ID)
  if (long) {
    throw new ConfigError(
      `${where}: cluster "${long}" has an id of ${long.length} characters; a Discord button's custom_id holds ` +
        `${MAX_CUSTOM_ID}, which leaves room for cluster ids of at most ${MAX_BUTTON_CLUSTER_ID}`,
    )
  }
}
