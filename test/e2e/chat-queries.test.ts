/**
 * `/serf query` and `/serf members` from Slack against real parts: a slash command signed with
 * node:crypto → the edge in `wrangler dev` → agent-bridge → Serf's `query` on a 3-node cluster on
 * loopback whose handler answers with the node's name → the records back at the edge → one
 * follow-up, posted by the cluster's queue to a local HTTP server standing in for Slack's
 * `response_url`, with every node's answer.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readAudit } from '../../client/sdk.ts'
import { type BridgeProcess, startBridge, stopAllBridges } from '../helpers/bridge-process.ts'
import { type LocalEdge, startEdge, stopAllEdges } from '../helpers/edge.ts'
import { writeQueryHandler } from '../helpers/query-agents.ts'
import { type ReplyServer, startReplyServer } from '../helpers/reply-server.ts'
import { type SerfCluster, startSerfCluster, stopAll, waitFor } from '../helpers/serf-agent.ts'

const team = 'T0E2E00001'
const alice = 'U0ALICE001'
const channel = 'C0E2E00001'
const secret = randomBytes(16).toString('hex')
const app = {
  dev: {
    teams: [team],
    defaultCluster: 'main',
    grants: [{ users: [alice], clusters: ['main'], queries: ['whoami'] }],
    // Follow-ups may go to the stand-in server on 127.0.0.1, as for the development app.
    responseOrigins: ['loopback'],
  },
}

let dir: string
let edge: LocalEdge
let serf: SerfCluster
let bridge: BridgeProcess
let slack: ReplyServer
let slackUrl: string
/** Every post the stand-in for Slack received, each body parsed. */
const posts = () =>
  slack.received.map((r) => ({
    path: r.path,
    body: JSON.parse(r.body) as { response_type?: string; replace_original?: boolean; text?: string },
  }))

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-chat-queries-'))
  slack = await startReplyServer()
  slackUrl = slack.url
  // Written before the agents start: they run it for every query.
  const handler = await writeQueryHandler(join(dir, 'handler'))
  serf = await startSerfCluster({ dir: join(dir, 'serf'), nodes: 3, logLevel: 'info', eventHandlerScript: handler })
  edge = await startEdge({
    dir: join(dir, 'edge'),
    clusters: { main: { bridgeLeaseTtl: '10s' } },
    senders: { ci: { clusters: '*', audit: '*' } },
    vars: { SLACK_APPS: JSON.stringify(app), SLACK_SIGNING_SECRET_DEV: secret },
  })
  bridge = startBridge({
    edgeUrl: edge.url,
    cluster: 'main',
    bridgeKey: edge.bridgeKeys.main!,
    rpcAddr: serf.agents[0]!.rpcAddr,
    cursorFile: join(dir, 'main.cursor.json'),
  })
  await bridge.waitForLog(/members reported/)
})

afterAll(async () => {
  await stopAllBridges()
  await stopAllEdges()
  await stopAll()
  await slack?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** `/serf <text>` as alice, signed as Slack signs: node:crypto HMAC, not the edge's code. */
async function command(text: string, responseUrl: string): Promise<{ response_type: string; text: string }> {
  const body = new URLSearchParams({
    team_id: team,
    channel_id: channel,
    user_id: alice,
    command: '/serf',
    text,
    response_url: responseUrl,
    trigger_id: randomUUID(),
  }).toString()
  const timestamp = String(Math.floor(Date.now() / 1000))
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`
  const res = await fetch(`${edge.url}/v1/slack/dev/commands`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signature,
    },
    body,
  })
  expect(res.status).toBe(200)
  return (await res.json()) as { response_type: string; text: string }
}

describe('/serf query through the bridge to real Serf agents', () => {
  it('answers at once, then posts one follow-up with every node’s answer when the query ends', async () => {
    const answer = await command('query whoami -timeout=2s', `${slackUrl}/commands/whoami`)
    expect(answer.response_type).toBe('ephemeral')
    const id = /^query `whoami` asked on main \((qry_[0-9a-f]{32})\): answers will follow when it ends\.$/.exec(
      answer.text,
    )?.[1]
    expect(id, answer.text).toBeDefined()

    const audit = () =>
      readAudit({ edgeUrl: edge.url, cluster: 'main', sender: 'ci', key: edge.senderKeys.ci!, limit: 500 })
    const decisions = await waitFor(
      async () => {
        const mine = (await audit()).records.filter((r) => r.eventId === id).map((r) => r.decision)
        return mine.includes('followup-sent') && mine
      },
      { timeoutMs: 30_000, what: 'the follow-up of the query to be sent' },
    )
    expect(decisions).toEqual(['queued', 'followup-sent'])
    const received = posts().filter((post) => post.path === '/commands/whoami')
    expect(received).toHaveLength(1)
    expect(received[0]!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false })
    const [headline, ...answers] = received[0]!.body.text!.split('\n')
    expect(headline).toBe(`✅ query \`whoami\` on main done (${id}): 3 responses, 3 acks`)
    expect(answers.sort()).toEqual(['• node-0: node-0', '• node-1: node-1', '• node-2: node-2'])
  })
})

describe('/serf members', () => {
  it('lists the three nodes the bridge reported, with the report’s age', async () => {
    const answer = await command('members -status=alive', `${slackUrl}/commands/members`)
    expect(answer.response_type).toBe('ephemeral')
    const [headline, ...lines] = answer.text.split('\n')
    expect(headline).toMatch(/^Members of main as of \d+ s ago \(bridge "bridge-test"\): 3 of 3 match -status=alive$/)
    expect(lines.map((line) => line.split(/\s+/)[1])).toEqual(['node-0', 'node-1', 'node-2'])
    for (const line of lines) expect(line).toMatch(/^• node-\d {2}127\.0\.0\.1:\d+ {2}alive( {2}\S+)?$/)
    expect(posts().filter((post) => post.path === '/commands/members')).toEqual([])
  })
})
