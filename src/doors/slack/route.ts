/**
 * The Slack door: `POST /v1/slack/{app}/commands` (the `/serf` slash command) and
 * `POST /v1/slack/{app}/interactions` (clicks on a confirmation's buttons). A request is
 * verified over its raw bytes before anything reads it; the chat core runs the command or
 * settles the click. A command's reply is the answer, well within Slack's 3 seconds; a click's
 * is posted to the click's `response_url`, since Slack takes no message from the answer to a
 * `block_actions` request.
 */
import { Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import { fromUtf8 } from '../../../protocol/bytes.ts'
import type { EdgeConfig } from '../../config.ts'
import type { Env } from '../../env.ts'
import { ProblemError } from '../../problem.ts'
import { limitTo } from '../../routes/middleware.ts'
import { runClick, runCommand } from '../chat/flow.ts'
import { mayReplyTo } from '../chat/policy.ts'
import { SLACK_ORIGIN, type SlackApp } from './config.ts'
import { renderClickReply, renderReply, type SlackMessage } from './render.ts'
import {
  blockActionsSchema,
  chatContext,
  clickActor,
  clickOf,
  commandActor,
  readForm,
  slashCommandSchema,
  typedText,
} from './requests.ts'
import { SlackSignatureError, verifySlackSignature } from './signature.ts'

/** Largest request read; a click's payload repeats the clicked message, a few KiB. */
export const MAX_SLACK_BODY_BYTES = 64 * 1024

type SlackEnv = { Bindings: Env; Variables: { config: EdgeConfig; slackApp: SlackApp; form: URLSearchParams } }

// Warnings through console.warn: a log level of `info` or `warn` keeps them, and drops the rest.
const log = (level: 'info' | 'warn', fields: Record<string, unknown>) =>
  (level === 'warn' ? console.warn : console.log)(JSON.stringify({ level, msg: 'slack request', ...fields }))

const knownApp = createMiddleware<SlackEnv>(async (c, next) => {
  const id = c.req.param('app') ?? ''
  const app = c.get('config').slackApps.get(id)
  if (!app) throw new ProblemError('not-found', `no Slack app "${id}" (SLACK_APPS)`)
  c.set('slackApp', app)
  await next()
})

const requestLimit = limitTo(MAX_SLACK_BODY_BYTES, 'a Slack request')

/**
 * Verify the signature over the raw bytes, then read them as a form. Slack's `ssl_check` probe
 * comes unsigned; it is answered with an empty 200 first, and does nothing else.
 */
const signedForm = createMiddleware<SlackEnv>(async (c, next) => {
  const app = c.get('slackApp')
  const raw = new Uint8Array(await c.req.arrayBuffer())
  if (new URLSearchParams(new TextDecoder().decode(raw)).get('ssl_check') === '1') return c.body(null, 200)
  const headers = { signature: c.req.header('x-slack-signature'), timestamp: c.req.header('x-slack-request-timestamp') }
  try {
    await verifySlackSignature(app.signingKey, headers, raw)
  } catch (error) {
    if (!(error instanceof SlackSignatureError)) throw error
    log('warn', { app: app.id, path: c.req.path, outcome: 'unauthenticated', detail: error.message })
    throw new ProblemError('unauthenticated', `Slack app "${app.id}": ${error.message}`)
  }
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') {
    throw new ProblemError(
      'unsupported-media-type',
      `Slack requests are application/x-www-form-urlencoded, got "${type || 'none'}"`,
    )
  }
  let text: string
  try {
    text = fromUtf8(raw)
  } catch (cause) {
    throw new ProblemError('invalid-request', 'the request body is not UTF-8', { cause })
  }
  c.set('form', new URLSearchParams(text))
  await next()
})

export const slackRoutes = new Hono<SlackEnv>()

slackRoutes.post('/:app/commands', knownApp, requestLimit, signedForm, async (c) => {
  const app = c.get('slackApp')
  const command = readForm(slashCommandSchema, Object.fromEntries(c.get('form')), 'slash command')
  const actor = commandActor(command)
  const ctx = chatContext(c.env, c.get('config'), app, actor, command, Date.now())
  const reply = await runCommand(ctx, typedText(command.text))
  log('info', {
    app: app.id,
    kind: 'command',
    team: actor.workspace,
    user: actor.user,
    channel: actor.channel,
    retry: c.req.header('x-slack-retry-num'),
  })
  return c.json(renderReply(reply))
})

slackRoutes.post('/:app/interactions', knownApp, requestLimit, signedForm, async (c) => {
  const app = c.get('slackApp')
  const payload = parsePayload(c.get('form').get('payload'))
  const button = blockActionsSchema.shape.type.safeParse(payload.type).success
    ? readForm(blockActionsSchema, payload, 'block_actions payload')
    : undefined
  const action = button?.actions.flatMap((a) => {
    const click = clickOf(a.action_id)
    return click ? [{ click, value: a.value ?? '' }] : []
  })[0]
  // Other interactions (shortcuts, other apps' buttons) are acknowledged and left alone.
  if (!button || !action) return c.body(null, 200)
  const actor = clickActor(button)
  const ctx = chatContext(c.env, c.get('config'), app, actor, button, Date.now())
  const reply = await runClick(ctx, action.click, action.value)
  const posts = renderClickReply(reply, button.container?.is_ephemeral === true)
  const allowed = mayReplyTo(app.chat, button.response_url, SLACK_ORIGIN)
  if (allowed) c.executionCtx.waitUntil(postReplies(app, button.response_url, posts))
  log(allowed ? 'info' : 'warn', {
    app: app.id,
    kind: 'click',
    action: action.click,
    team: actor.workspace,
    user: actor.user,
    channel: actor.channel,
    ...(allowed ? {} : { outcome: 'reply not posted: response_url origin not allowed' }),
  })
  return c.body(null, 200)
})

/**
 * The `payload` field: a JSON object.
 * @throws {ProblemError} malformed-json
 */
function parsePayload(text: string | null): Record<string, unknown> {
  let payload: unknown
  try {
    payload = JSON.parse(text ?? '')
  } catch (cause) {
    throw new ProblemError('malformed-json', 'an interaction carries a JSON object in its payload field', { cause })
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new ProblemError('malformed-json', 'the payload field is not a JSON object')
  }
  return payload as Record<string, unknown>
}

/** Post a click's reply, in order; within `waitUntil`, which Slack's reply window outlasts. */
async function postReplies(app: SlackApp, url: string, posts: SlackMessage[]): Promise<void> {
  for (const post of posts) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(post),
        signal: AbortSignal.timeout(10_000),
      })
      await response.body?.cancel()
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
    } catch (error) {
      // The URL is a credential for the reply: only its origin is logged.
      const detail = error instanceof Error ? error.message : String(error)
      log('warn', { app: app.id, outcome: 'click reply failed', origin: new URL(url).origin, detail })
      return
    }
  }
}
