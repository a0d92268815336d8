/**
 * Slack's requests as the door reads them, after the signature verified: a slash command's form
 * fields and a button click's `payload` (ids, never display names), and the chat context of each.
 */
import { z } from 'zod'
import type { EdgeConfig } from '../../config.ts'
import type { Env } from '../../env.ts'
import { ProblemError } from '../../problem.ts'
import type { ChatContext } from '../chat/flow.ts'
import type { ChatActor } from '../chat/policy.ts'
import { SLACK_ORIGIN, type SlackApp } from './config.ts'

/** A `response_url` takes posts for 30 minutes (5 of them). */
export const RESPONSE_URL_LIFETIME_MS = 30 * 60_000

/** The `action_id` of each of the confirmation's buttons. */
export const BUTTON_ACTION_ID = { fire: 'serf_fire', cancel: 'serf_cancel' } as const

/** The click an `action_id` stands for, or undefined for one that is not the door's. */
export function clickOf(actionId: string): 'fire' | 'cancel' | undefined {
  if (actionId === BUTTON_ACTION_ID.fire) return 'fire'
  if (actionId === BUTTON_ACTION_ID.cancel) return 'cancel'
  return undefined
}

const id = z.string().regex(/^[A-Z0-9]{2,}$/)

/** The fields of a slash command the door reads; Slack sends more (and names it does not read). */
export const slashCommandSchema = z.looseObject({
  team_id: id,
  channel_id: id,
  user_id: id,
  text: z.string().default(''),
  trigger_id: z.string().min(1),
  response_url: z.url(),
})
export type SlashCommand = z.infer<typeof slashCommandSchema>

/** A `block_actions` payload: a click on a button of one of the door's messages. */
export const blockActionsSchema = z.looseObject({
  type: z.literal('block_actions'),
  team: z.looseObject({ id }).nullish(),
  user: z.looseObject({ id, team_id: id.optional() }),
  channel: z.looseObject({ id }).optional(),
  container: z.looseObject({ is_ephemeral: z.boolean().optional() }).optional(),
  trigger_id: z.string().min(1),
  response_url: z.url(),
  actions: z.array(z.looseObject({ action_id: z.string(), value: z.string().optional() })).min(1),
})
export type BlockActions = z.infer<typeof blockActionsSchema>

/**
 * The fields of a verified form, checked with `schema`.
 * @throws {ProblemError} invalid-request naming the fields that are wrong
 */
export function readForm<T>(schema: z.ZodType<T>, fields: unknown, what: string): T {
  const parsed = schema.safeParse(fields)
  if (parsed.success) return parsed.data
  const names = parsed.error.issues.map((issue) => issue.path.join('.') || '(body)')
  throw new ProblemError('invalid-request', `the ${what} has invalid fields: ${[...new Set(names)].join(', ')}`)
}

/**
 * Slack escapes `&`, `<` and `>` in what a user types (its own markup); the event carries what
 * they typed.
 * @example typedText('a &amp; &lt;b&gt;') // 'a & <b>'
 */
export const typedText = (text: string): string =>
  text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')

/** Who ran a command. Slack sends no roles with it. */
export const commandActor = (command: SlashCommand): ChatActor => ({
  platform: 'slack',
  workspace: command.team_id,
  user: command.user_id,
  channel: command.channel_id,
  roles: [],
})

/** Who clicked, in the workspace the click happened in. */
export const clickActor = (click: BlockActions): ChatActor => ({
  platform: 'slack',
  workspace: click.team?.id ?? click.user.team_id ?? '',
  user: click.user.id,
  channel: click.channel?.id ?? '',
  roles: [],
})

/** The chat core's context for one command or click of `app`, received at `now`. */
export function chatContext(
  env: Env,
  config: EdgeConfig,
  app: SlackApp,
  actor: ChatActor,
  request: { trigger_id: string; response_url: string },
  now: number,
): ChatContext {
  return {
    env,
    config,
    app: app.chat,
    actor,
    // Unique per command or click; a redelivered request queues nothing new under it.
    interactionId: `slack:${request.trigger_id}`,
    replyUrl: request.response_url,
    replyExpiresAt: now + RESPONSE_URL_LIFETIME_MS,
    platformOrigin: SLACK_ORIGIN,
  }
}
