/** `DISCORD_APPS` and the public keys: parsed once, every mistake named. */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.ts'

const LONG = `c${'x'.repeat(51)}`

const base = (apps: unknown, extra: Record<string, unknown> = {}) => ({
  CLUSTER_QUEUE: env.CLUSTER_QUEUE,
  CLUSTERS: { staging: {}, [LONG]: {} },
  SENDERS: {},
  BRIDGE_KEYS_STAGING: env.BRIDGE_KEYS_STAGING,
  [`BRIDGE_KEYS_${LONG.toUpperCase()}`]: env.BRIDGE_KEYS_STAGING,
  DISCORD_PUBLIC_KEY_OPS: env.DISCORD_PUBLIC_KEY_OPS,
  ...(apps === undefined ? {} : { DISCORD_APPS: apps }),
  ...extra,
})

const app = (fields: Record<string, unknown> = {}) => ({
  ops: {
    applicationId: '1100000000000000001',
    guilds: ['1200000000000000001'],
    grants: [{ users: ['1300000000000000001'], clusters: ['staging'], events: ['deploy'] }],
    ...fields,
  },
})

const refusal = (env: Record<string, unknown>) =>
  parseConfig(env).then(
    () => 'accepted',
    (error: Error) => error.message,
  )

describe('DISCORD_APPS', () => {
  it('absent: no Discord door', async () => {
    expect((await parseConfig(base(undefined))).discordApps.size).toBe(0)
  })

  it('an app with its defaults: Discord’s own API, its guilds as the chat workspaces', async () => {
    const ops = (await parseConfig(base(JSON.stringify(app())))).discordApps.get('ops')!
    expect(ops).toMatchObject({
      id: 'ops',
      applicationId: '1100000000000000001',
      apiBase: 'https://discord.com/api/v10',
    })
    expect(ops.chat).toMatchObject({ platform: 'discord', workspaces: ['1200000000000000001'], responseOrigins: [] })
  })

  it('a missing or malformed public key is named with where to find it', async () => {
    expect(await refusal(base(app(), { DISCORD_PUBLIC_KEY_OPS: undefined }))).toMatch(
      /secret DISCORD_PUBLIC_KEY_OPS is not set/,
    )
    expect(await refusal(base(app(), { DISCORD_PUBLIC_KEY_OPS: 'abc' }))).toBe(
      "DISCORD_PUBLIC_KEY_OPS: a Discord public key is 64 hex digits (the application's Public Key in the Developer Portal)",
    )
  })

  it('ids that are not snowflakes, unknown fields and unknown clusters are refused', async () => {
    expect(await refusal(base(app({ guilds: ['my-server'] })))).toMatch(/^DISCORD_APPS\.ops\.guilds\.0: a Discord id/)
    expect(await refusal(base(app({ token: 'x' })))).toMatch(/^DISCORD_APPS\.ops: Unrecognized key: "token"/)
    expect(await refusal(base(app({ grants: [{ users: '*', clusters: ['nowhere'], events: ['deploy'] }] })))).toBe(
      'DISCORD_APPS.ops.grants.0.clusters names unknown cluster "nowhere"',
    )
    expect(await refusal(base({ 'Bad App': app().ops }))).toMatch(/^DISCORD_APPS: "Bad App" is not a valid app id/)
  })

  it('grants queries through the fields every chat door shares', async () => {
    const grants = [{ roles: ['1400000000000000001'], clusters: ['staging'], queries: ['whoami'] }]
    const ops = (await parseConfig(base(app({ grants })))).discordApps.get('ops')!
    expect(ops.chat.grants[0]).toMatchObject({ events: [], queryPatterns: ['whoami'] })
  })

  it('an apiBase must be an http(s) URL', async () => {
    expect(await refusal(base(app({ apiBase: 'ftp://127.0.0.1/api' })))).toMatch(/^DISCORD_APPS\.ops\.apiBase: /)
  })

  it("refuses a cluster whose id would not fit a confirmation button's 100-character custom_id", async () => {
    const grants = [{ users: '*', clusters: [LONG], events: ['deploy'] }]
    expect(await refusal(base(app({ grants })))).toBe(
      `DISCORD_APPS.ops: cluster "${LONG}" has an id of 52 characters; a Discord button's custom_id holds 100, ` +
        'which leaves room for cluster ids of at most 51',
    )
    const everywhere = [{ users: '*', clusters: '*', events: ['deploy'] }]
    expect(await refusal(base(app({ grants: everywhere })))).toMatch(/cluster "cx+" has an id of 52 characters/)
  })
})
