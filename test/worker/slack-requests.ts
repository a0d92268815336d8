/**
 * Slack requests for the worker tests, signed as Slack signs them: the HMAC is computed here
 * with WebCrypto, never by the code under test.
 */
import { env, exports } from 'cloudflare:workers'
import { EDGE } from './helpers.ts'

export const ids = env.TEST_SLACK.ids

/** Unix seconds now, as Slack stamps a request. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` under `secret`. */
export async function slackSignature(secret: string, timestamp: string, body: Uint8Array): Promise<string> {
  const encoder = new TextEncoder()
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ])
  const prefix = encoder.encode(`v0:${timestamp}:`)
  const signed = new Uint8Array(prefix.length + body.length)
  signed.set(prefix)
  signed.set(body, prefix.length)
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, signed))
  return `v0=${Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

export interface SlackRequestOptions {
  timestamp?: number
  secret?: string
  /** Send these bytes instead of the ones signed (tamper tests). */
  sendInstead?: Uint8Array
  /** Leave out a signature header. */
  omit?: 'signature' | 'timestamp'
  headers?: Record<string, string>
  app?: string
}

/** POST `body` to `/v1/slack/{app}/{path}`, signed with the test app's secret. */
export async function postSlack(path: 'commands' | 'interactions', body: string, options: SlackRequestOptions = {}) {
  const bytes = new TextEncoder().encode(body)
  const timestamp = String(options.timestamp ?? nowSeconds())
  const signature = await slackSignature(options.secret ?? env.TEST_SLACK.secret, timestamp, bytes)
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': timestamp,
    'x-slack-signature': signature,
    ...options.headers,
  }
  if (options.omit) delete headers[options.omit === 'signature' ? 'x-slack-signature' : 'x-slack-request-timestamp']
  return exports.default.fetch(`${EDGE}/v1/slack/${options.app ?? 'ops'}/${path}`, {
    method: 'POST',
    headers,
    body: options.sendInstead ?? bytes,
  })
}

let triggers = 0
/** A trigger id as unique as Slack's. */
export const newTrigger = (): string => `${Date.now()}.${++triggers}.${crypto.randomUUID().slice(0, 8)}`

export interface CommandOptions extends SlackRequestOptions {
  channel?: string
  team?: string
  responseUrl?: string
  trigger?: string
}

/** A `/serf` command's form body; `text` escaped as Slack escapes what a user types. */
export function commandBody(user: string, text: string, options: CommandOptions = {}): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: options.team ?? ids.team,
    team_domain: 'serf-edge-test',
    channel_id: options.channel ?? ids.stagingChannel,
    channel_name: 'staging',
    user_id: user,
    user_name: 'display-name-never-read',
    command: '/serf',
    text: text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;'),
    api_app_id: 'A0TESTAPP1',
    is_enterprise_install: 'false',
    response_url: options.responseUrl ?? `https://hooks.slack.com/commands/${ids.team}/1/${crypto.randomUUID()}`,
    trigger_id: options.trigger ?? newTrigger(),
  }).toString()
}

/** The answer to a `/serf` command as Slack reads it. */
export interface CommandAnswer {
  response_type: 'ephemeral' | 'in_channel'
  text: string
  blocks?: { type: string; elements?: { action_id: string; value: string; style?: string; text: { text: string } }[] }[]
}

/** Run `/serf <text>` as `user`; expects a 200 JSON answer. */
export async function command(user: string, text: string, options: CommandOptions = {}): Promise<CommandAnswer> {
  const res = await postSlack('commands', commandBody(user, text, options), options)
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${await res.text()}`)
  return (await res.json()) as CommandAnswer
}

/** The value of the answer's button with `actionId` (serf_fire, serf_cancel). */
export function buttonValue(answer: CommandAnswer, actionId: string): string {
  const button = answer.blocks?.flatMap((block) => block.elements ?? []).find((e) => e.action_id === actionId)
  if (!button) throw new Error(`no ${actionId} button in ${JSON.stringify(answer)}`)
  return button.value
}

/**
 * A click on a confirmation's button as `user`. Its `response_url` is on an origin the test app
 * does not allow, so the edge posts nothing anywhere (test/e2e/slack.test.ts sees what it posts).
 */
export function click(user: string, actionId: string, value: string, options: CommandOptions = {}) {
  const payload = {
    type: 'block_actions',
    team: { id: options.team ?? ids.team, domain: 'serf-edge-test' },
    user: { id: user, username: 'display-name-never-read', team_id: options.team ?? ids.team },
    api_app_id: 'A0TESTAPP1',
    container: { type: 'message', message_ts: '1700000000.000100', is_ephemeral: true },
    channel: { id: options.channel ?? ids.stagingChannel, name: 'staging' },
    trigger_id: options.trigger ?? newTrigger(),
    response_url: options.responseUrl ?? `https://slack.test/actions/${crypto.randomUUID()}`,
    actions: [{ type: 'button', action_id: actionId, block_id: 'serf_confirmation', value }],
  }
  return postSlack('interactions', new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), options)
}

/** The principal id the edge records for `user` of the test workspace. */
export const principal = (user: string): string => `slack:${ids.team}:${user}`
