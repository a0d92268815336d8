/**
 * The Discord door, `POST /v1/discord/{app}/interactions`: an interaction verified over its raw
 * bytes before anything reads it (any failure, a PING included, is 401: Discord probes with bad
 * signatures and drops endpoints that accept them), then a PING answered, `/serf` run and a
 * confirmation's button click settled by the chat core, and its reply rendered for Discord.
 */
import { Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import { fromUtf8 } from '../../../protocol/bytes.ts'
import type { EdgeConfig } from '../../config.ts'
import type { Env } from '../../env.ts'
import { ProblemError } from '../../problem.ts'
import { limitTo } from '../../routes/middleware.ts'
import { type ChatReply, runClick, runCommand } from '../chat/flow.ts'
import type { DiscordApp } from './config.ts'
import {
  COMMAND_NAME,
  chatContext,
  commandText,
  INTERACTION,
  type Interaction,
  interactionSchema,
} from './interaction.ts'
import { CALLBACK, type InteractionResponse, parseCustomId, renderReply } from './render.ts'
import { DiscordSignatureError, verifyDiscordSignature } from './signature.ts'

/** Largest interaction read; a command's or a click's JSON is a few KiB. */
export const MAX_INTERACTION_BYTES = 64 * 1024

type DiscordEnv = { Bindings: Env; Variables: { config: EdgeConfig; discordApp: DiscordApp } }

const knownApp = createMiddleware<DiscordEnv>(async (c, next) => {
  const id = c.req.param('app') ?? ''
  const app = c.get('config').discordApps.get(id)
  if (!app) throw new ProblemError('not-found', `no Discord app "${id}" (DISCORD_APPS)`)
  c.set('discordApp', app)
  await next()
})

const interactionLimit = limitTo(MAX_INTERACTION_BYTES, 'a Discord interaction')

const log = (level: 'info' | 'warn', fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ level, msg: 'discord interaction', ...fields }))

export const discordRoutes = new Hono<DiscordEnv>()

discordRoutes.post('/:app/interactions', knownApp, interactionLimit, async (c) => {
  const app = c.get('discordApp')
  const raw = new Uint8Array(await c.req.arrayBuffer())
  const headers = { signature: c.req.header('x-signature-ed25519'), timestamp: c.req.header('x-signature-timestamp') }
  try {
    await verifyDiscordSignature(app.publicKey, headers, raw)
  } catch (error) {
    if (!(error instanceof DiscordSignatureError)) throw error
    log('warn', { app: app.id, outcome: 'unauthenticated', detail: error.message })
    throw new ProblemError('unauthenticated', `Discord app "${app.id}": ${error.message}`)
  }
  const interaction = parseInteraction(raw)
  if (interaction.application_id !== app.applicationId) {
    const detail = `the interaction is for application ${interaction.application_id}`
    throw new ProblemError('forbidden', `${detail}; Discord app "${app.id}" is ${app.applicationId}`)
  }
  const response = await answer(c.env, c.get('config'), app, interaction)
  log('info', {
    app: app.id,
    interaction: interaction.id,
    type: interaction.type,
    guild: interaction.guild_id,
    user: interaction.member?.user.id ?? interaction.user?.id,
  })
  return c.json(response)
})

async function answer(env: Env, config: EdgeConfig, app: DiscordApp, interaction: Interaction) {
  const say = (text: string): ChatReply => ({ text, visibility: 'ephemeral' })
  if (interaction.type === INTERACTION.ping) return { type: CALLBACK.pong } satisfies InteractionResponse
  if (interaction.type === INTERACTION.command) {
    if (interaction.data?.name !== COMMAND_NAME) {
      return renderReply(say(`This endpoint serves \`/${COMMAND_NAME}\` only.`), 'new')
    }
    const ctx = chatContext(env, config, app, interaction, Date.now())
    return renderReply(await runCommand(ctx, commandText(interaction)), 'new')
  }
  if (interaction.type === INTERACTION.component) {
    const button = parseCustomId(interaction.data?.custom_id ?? '')
    if (!button) return renderReply(say('This button is not one of serf-edge’s; nothing fired.'), 'new')
    const ctx = chatContext(env, config, app, interaction, Date.now())
    return renderReply(await runClick(ctx, button.action, button.value), 'click')
  }
  throw new ProblemError('invalid-request', `interactions of type ${interaction.type} are not served here`)
}

/**
 * The verified body as an interaction.
 * @throws {ProblemError} malformed-json, or invalid-request naming the fields that are wrong
 */
function parseInteraction(raw: Uint8Array): Interaction {
  let body: unknown
  try {
    body = JSON.parse(fromUtf8(raw))
  } catch (cause) {
    throw new ProblemError('malformed-json', 'the interaction is not JSON in UTF-8', { cause })
  }
  const parsed = interactionSchema.safeParse(body)
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(body)')
    throw new ProblemError('invalid-request', `the interaction has invalid fields: ${[...new Set(fields)].join(', ')}`)
  }
  return parsed.data
}
