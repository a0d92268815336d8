/**
 * Discord interactions as the door reads them: the fields it uses (ids, never display names),
 * and the chat context of one interaction, whose follow-up edits the original response.
 */
import { z } from 'zod'
import type { EdgeConfig } from '../../config.ts'
import type { Env } from '../../env.ts'
import { ProblemError } from '../../problem.ts'
import type { ChatContext } from '../chat/flow.ts'
import type { ChatActor } from '../chat/policy.ts'
import { DISCORD_API, type DiscordApp } from './config.ts'

/** Interaction types (Discord's `InteractionType`) the door answers. */
export const INTERACTION = { ping: 1, command: 2, component: 3 } as const

/** The slash command the door serves, and its one string option holding the text. */
export const COMMAND_NAME = 'serf'
const TEXT_OPTION = 'text'

/** An interaction token lasts 15 minutes; later follow-ups are refused by Discord. */
export const TOKEN_LIFETIME_MS = 15 * 60_000

const snowflake = z.string().regex(/^\d{1,20}$/)
const user = z.looseObject({ id: snowflake })

/** The parts of an interaction the door reads; Discord sends many more. */
export const interactionSchema = z.looseObject({
  id: snowflake,
  application_id: snowflake,
  type: z.number().int(),
  // It becomes a path segment of the follow-up URL: nothing that could leave that segment.
  token: z.string().regex(/^[A-Za-z0-9_.-]{1,1024}$/),
  guild_id: snowflake.optional(),
  channel_id: snowflake.optional(),
  member: z.looseObject({ user, roles: z.array(snowflake).default([]) }).optional(),
  user: user.optional(),
  data: z
    .looseObject({
      name: z.string().optional(),
      custom_id: z.string().optional(),
      options: z.array(z.looseObject({ name: z.string(), value: z.unknown() })).optional(),
    })
    .optional(),
})
export type Interaction = z.infer<typeof interactionSchema>

/**
 * The user as a chat actor. Outside a guild (a DM) there is no guild to be granted anything in,
 * so the workspace is `dm`, which no configured guild id (digits only) can equal: denied, audited.
 * @throws {ProblemError} invalid-request for an interaction that names no user
 */
export function actorOf(interaction: Interaction): ChatActor {
  const user = interaction.member?.user.id ?? interaction.user?.id
  if (!user) throw new ProblemError('invalid-request', 'the interaction names no user (member.user or user)')
  return {
    platform: 'discord',
    workspace: interaction.guild_id ?? 'dm',
    user,
    channel: interaction.channel_id ?? '',
    roles: interaction.member?.roles ?? [],
  }
}

/** The text after `/serf`: the `text` option's value, empty (help) when it is not given. */
export function commandText(interaction: Interaction): string {
  const option = interaction.data?.options?.find((o) => o.name === TEXT_OPTION)
  return typeof option?.value === 'string' ? option.value : ''
}

/** The chat core's context for one interaction of `app`, received at `now`. */
export function chatContext(
  env: Env,
  config: EdgeConfig,
  app: DiscordApp,
  interaction: Interaction,
  now: number,
): ChatContext {
  return {
    env,
    config,
    app: app.chat,
    actor: actorOf(interaction),
    interactionId: `discord:${interaction.id}`,
    replyUrl: `${app.apiBase}/webhooks/${app.applicationId}/${interaction.token}/messages/@original`,
    replyExpiresAt: now + TOKEN_LIFETIME_MS,
    platformOrigin: new URL(DISCORD_API).origin,
  }
}
