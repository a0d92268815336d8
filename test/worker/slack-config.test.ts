/** `SLACK_APPS` and the signing secrets: parsed once, every mistake named; ids, never names. */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.ts'
import { mayReplyTo } from '../../src/doors/chat/policy.ts'

const base = (apps: unknown, extra: Record<string, unknown> = {}) => ({
  CLUSTER_QUEUE: env.CLUSTER_QUEUE,
  CLUSTERS: { staging: {} },
  SENDERS: {},
  BRIDGE_KEYS_STAGING: env.BRIDGE_KEYS_STAGING,
  SLACK_SIGNING_SECRET_OPS: 'a-signing-secret',
  ...(apps === undefined ? {} : { SLACK_APPS: apps }),
  ...extra,
})

const app = (fields: Record<string, unknown> = {}, grant: Record<string, unknown> = {}) => ({
  ops: {
    teams: ['T0TEAM0001'],
    grants: [{ users: ['U0ALICE001'], clusters: ['staging'], events: ['deploy'], ...grant }],
    ...fields,
  },
})

const refusal = (env: Record<string, unknown>) =>
  parseConfig(env).then(
    () => 'accepted',
    (error: Error) => error.message,
  )

describe('SLACK_APPS', () => {
  it('absent: no Slack door', async () => {
    expect((await parseConfig(base(undefined))).slackApps.size).toBe(0)
  })

  it('an app: its teams as the chat workspaces, its grants compiled', async () => {
    const ops = (await parseConfig(base(JSON.stringify(app())))).slackApps.get('ops')!
    expect(ops.chat).toMatchObject({ platform: 'slack', id: 'ops', workspaces: ['T0TEAM0001'], responseOrigins: [] })
    expect(ops.chat.grants[0]).toMatchObject({ users: ['U0ALICE001'], channels: '*', eventPatterns: ['deploy'] })
  })

  it('queries are granted apart from events, none by default; a grant needs one or the other', async () => {
    const grant = async (fields: Record<string, unknown>) =>
      (await parseConfig(base(app({}, fields)))).slackApps.get('ops')!.chat.grants[0]!
    expect(await grant({})).toMatchObject({ queries: [], queryPatterns: [] })
    const asker = await grant({ events: undefined, queries: ['uptime', 'disk-*'] })
    expect(asker).toMatchObject({ events: [], queryPatterns: ['uptime', 'disk-*'] })
    expect(asker.queries.map((pattern) => pattern.test('disk-free'))).toEqual([false, true])
    expect(await refusal(base(app({}, { events: undefined })))).toMatch(
      /^SLACK_APPS\.ops\.grants\.0: a grant names events or queries \(or both\)/,
    )
    expect(await refusal(base(app({}, { queries: [''] })))).toMatch(/^SLACK_APPS\.ops\.grants\.0\.queries\.0/)
  })

  it('refuses names where Slack ids belong, and roles Slack never sends', async () => {
    expect(await refusal(base(app({}, { users: ['alice'] })))).toMatch(
      /^SLACK_APPS\.ops\.grants\.0\.users.*a Slack user id looks like U0123ABCD \(not a name\)/,
    )
    expect(await refusal(base(app({ teams: ['acme'] })))).toMatch(/SLACK_APPS\.ops\.teams\.0: a Slack team id/)
    expect(await refusal(base(app({}, { channels: ['#ops'] })))).toMatch(/a Slack channel id looks like C0123ABCD/)
    expect(await refusal(base(app({ groups: { leads: ['bob'] } })))).toMatch(/SLACK_APPS\.ops\.groups\.leads\.0/)
    expect(await refusal(base(app({}, { roles: ['admins'] })))).toMatch(/Slack sends no roles with a command/)
  })

  it('refuses unknown clusters and groups, a bad origin, a missing secret', async () => {
    expect(await refusal(base(app({}, { clusters: ['prod'] })))).toBe(
      'SLACK_APPS.ops.grants.0.clusters names unknown cluster "prod"',
    )
    expect(await refusal(base(app({}, { approval: { events: ['deploy'], group: 'leads' } })))).toMatch(
      /approval names unknown group "leads"/,
    )
    expect(await refusal(base(app({ responseOrigins: ['hooks'] })))).toMatch(/"hooks" is not an origin/)
    expect(await refusal(base(app(), { SLACK_SIGNING_SECRET_OPS: undefined }))).toBe(
      'secret SLACK_SIGNING_SECRET_OPS is not set (wrangler secret put SLACK_SIGNING_SECRET_OPS; locally .dev.vars)',
    )
  })

  it('follow-ups go to hooks.slack.com, loopback only when allowed, another origin only when named', async () => {
    const config = await parseConfig(base(app({ responseOrigins: ['loopback', 'https://chat.example.com'] })))
    const open = config.slackApps.get('ops')!.chat
    const closed = (await parseConfig(base(app()))).slackApps.get('ops')!.chat
    const slack = 'https://hooks.slack.com'
    for (const url of [
      'https://hooks.slack.com/commands/T1/2/x',
      'http://127.0.0.1:9/x',
      'https://chat.example.com/r',
    ]) {
      expect(mayReplyTo(open, url, slack), url).toBe(true)
    }
    expect(mayReplyTo(closed, 'https://hooks.slack.com/commands/T1/2/x', slack)).toBe(true)
    for (const url of ['http://127.0.0.1:9/x', 'https://hooks.slack.com.evil.example/x', 'http://hooks.slack.com/x']) {
      expect(mayReplyTo(closed, url, slack), url).toBe(false)
    }
    expect(mayReplyTo(open, 'http://10.0.0.1/x', slack)).toBe(false)
  })
})
