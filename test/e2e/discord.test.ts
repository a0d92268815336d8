/**
 * The Discord door against real parts: interactions signed with Node's own Ed25519 (and with
 * curl + openssl) → the edge in `wrangler dev` → agent-bridge → a real Serf agent's handler; the
 * original response edited on a local HTTP server standing in for Discord's API once the bridge
 * acknowledged the event, and never for an app whose API origin is not allowed.
 */
import { execFile } from 'node:child_process'
import { generateKeyPairSync, randomInt, sign } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditRecord } from '../../protocol/audit.ts'
import { importSignKey, signPayload } from '../../protocol/signature.ts'
import { startBridge, stopAllBridges } from '../helpers/bridge-process.ts'
import { type LocalEdge, startEdge, stopAllEdges } from '../helpers/edge.ts'
import { readmeRecipe } from '../helpers/readme.ts'
import { type ReplyServer, startReplyServer } from '../helpers/reply-server.ts'
import { payloadText, type SerfAgent, startSerfCluster, stopAll, waitFor } from '../helpers/serf-agent.ts'

/** The ids the README recipe sends: the development app `dev`, its guild, channel and user. */
const APP_ID = '100000000000000001'
const GUILD = '200000000000000001'
const CHANNEL = '300000000000000001'
const USER = '400000000000000001'

const key = generateKeyPairSync('ed25519')
const publicHex = key.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex')

let dir: string
let edge: LocalEdge
let agent: SerfAgent
let discord: ReplyServer
/** What the stand-in for Discord's API received. */
const received = () => discord.received

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-discord-'))
  discord = await startReplyServer()
  const apiBase = `${discord.url}/api/v10`
  const app = { applicationId: APP_ID, guilds: [GUILD], apiBase, defaultCluster: 'main' }
  const grants = [{ users: [USER], clusters: ['main'], events: ['deploy'] }]
  const apps = {
    dev: { ...app, grants, responseOrigins: ['loopback'] },
    // The same stand-in, but not allowed: follow-ups go to Discord's origin or to one listed.
    stray: { ...app, grants },
  }
  ;[agent] = (await startSerfCluster({ dir: join(dir, 'serf'), nodes: 1, logLevel: 'info' })).agents as [SerfAgent]
  edge = await startEdge({
    dir: join(dir, 'edge'),
    clusters: { main: { bridgeLeaseTtl: '3s' } },
    senders: { ci: { clusters: '*', audit: '*' } },
    vars: {
      DISCORD_APPS: JSON.stringify(apps),
      DISCORD_PUBLIC_KEY_DEV: publicHex,
      DISCORD_PUBLIC_KEY_STRAY: publicHex,
    },
  })
  startBridge({
    edgeUrl: edge.url,
    cluster: 'main',
    bridgeKey: edge.bridgeKeys.main!,
    rpcAddr: agent.rpcAddr,
    cursorFile: join(dir, 'main.cursor.json'),
    bridgeId: 'bridge-discord',
  })
})

afterAll(async () => {
  await stopAllBridges()
  await stopAllEdges()
  await stopAll()
  await discord?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** `/serf text:<text>` by the granted user, signed with Node's crypto as Discord signs it. */
async function slashCommand(app: string, text: string) {
  const id = `${Date.now()}${randomInt(100_000)}`
  const interaction = {
    type: 2,
    id,
    application_id: APP_ID,
    token: `tok-${id}`,
    guild_id: GUILD,
    channel_id: CHANNEL,
    member: { user: { id: USER, username: 'alice' }, roles: [] },
    data: { id: '1', name: 'serf', type: 1, options: [{ name: 'text', type: 3, value: text }] },
  }
  const body = Buffer.from(JSON.stringify(interaction))
  const timestamp = String(Math.floor(Date.now() / 1000))
  const signature = sign(null, Buffer.concat([Buffer.from(timestamp), body]), key.privateKey).toString('hex')
  const res = await fetch(`${edge.url}/v1/discord/${app}/interactions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-signature-ed25519': signature,
      'x-signature-timestamp': timestamp,
    },
    body,
  })
  expect(res.status).toBe(200)
  const answer = (await res.json()) as { type: number; data: { content: string; flags?: number } }
  const [, sequence, eventId] = /queued as #(\d+) \((evt_[0-9a-f]+)\)/.exec(answer.data.content) ?? []
  return { interaction, answer, sequence: Number(sequence), eventId: eventId! }
}

/** The recorded user event with this payload, once the agent's handler ran for it. */
const handled = (payload: string) =>
  waitFor(async () => (await agent.readEvents()).find((e) => payloadText(e) === payload), {
    timeoutMs: 30_000,
    what: `the event with payload "${payload}" at the agent's handler`,
  })

/** The edit of the original response of `token`, once it arrived. */
const edited = (token: string) =>
  waitFor(() => received().find((r) => r.path === `/api/v10/webhooks/${APP_ID}/${token}/messages/@original`), {
    timeoutMs: 30_000,
    what: `the follow-up for ${token}`,
  })

async function audit(): Promise<AuditRecord[]> {
  const path = '/v1/clusters/main/audit?limit=500'
  const headers = await signPayload([await importSignKey(edge.senderKeys.ci!)], `msg_${Date.now()}`, path)
  const res = await fetch(`${edge.url}${path}`, { headers: { ...headers, 'serf-edge-sender': 'ci' } })
  return ((await res.json()) as { records: AuditRecord[] }).records
}

describe('a signed /serf from Discord', () => {
  it('reaches the Serf agent’s handler with its name and exact payload, then edits the reply to say delivered', async () => {
    const { interaction, answer, sequence, eventId } = await slashCommand('dev', 'deploy v1.4.2 — ünï  two spaces')
    expect(answer).toMatchObject({ type: 4, data: { flags: 64 } })
    expect(answer.data.content).toContain('You will hear when it is delivered.')

    const event = await handled('v1.4.2 — ünï  two spaces')
    expect(event.name).toBe('deploy')

    const edit = await edited(interaction.token)
    expect(edit.method).toBe('PATCH')
    expect(edit.contentType).toBe('application/json')
    expect(JSON.parse(edit.body)).toEqual({
      content: `✅ \`deploy\` "v1.4.2 — ünï  two spaces" on main delivered to Serf (#${sequence})`,
      components: [],
      // The text quotes the payload, which could say @everyone: it shows, nobody is pinged.
      allowed_mentions: { parse: [] },
    })
    const records = (await audit()).filter((r) => r.eventId === eventId)
    expect(records.map((r) => [r.door, r.principal, r.decision])).toEqual([
      ['discord', `discord:${GUILD}:${USER}`, 'queued'],
      ['discord', `discord:${GUILD}:${USER}`, 'followup-sent'],
    ])
  })

  it('from an app whose API origin is not allowed is delivered, and no follow-up leaves the edge', async () => {
    // Not coalesced: Serf's handler would run only for the last of two `deploy`s close together.
    const stray = await slashCommand('stray', 'deploy stray -coalesce=false')
    expect(stray.answer.data.content).toContain(`Ask \`/serf status ${stray.eventId} -cluster=main\``)
    // Queued after the stray one: its follow-up is sent by the alarm run that would have sent
    // the stray one's, had there been one (both settle in one ack, or the stray one earlier).
    const after = await slashCommand('dev', 'deploy after-stray -coalesce=false')
    await handled('stray')
    await edited(after.interaction.token)
    expect(received().filter((r) => r.path.includes(stray.interaction.token))).toEqual([])
    const records = (await audit()).filter((r) => r.eventId === stray.eventId)
    expect(records.map((r) => [r.decision, r.status])).toEqual([['queued', 'delivered']])
  })
})

describe('the README recipe with curl and openssl', () => {
  it('is a signed interaction the edge accepts, and the event reaches the agent', async () => {
    const script = await readmeRecipe('discord-interaction', dir)
    // The seed, as npm start writes DISCORD_PRIVATE_KEY: the last 32 bytes of the PKCS#8 key.
    const seed = key.privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32).toString('base64')
    const env = { ...process.env, EDGE: edge.url, DISCORD_PRIVATE_KEY: seed }
    const { stdout } = await promisify(execFile)('bash', [script, 'deploy', 'from-openssl'], { env })
    expect(JSON.parse(stdout)).toMatchObject({ type: 4, data: { flags: 64 } })
    expect(JSON.parse(stdout).data.content).toMatch(/^`deploy` "from-openssl" on main: queued as #\d+/)
    expect((await handled('from-openssl')).name).toBe('deploy')
  })
})
