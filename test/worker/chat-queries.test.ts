/**
 * `/serf query` and `/serf members` from Slack and Discord in workerd: a query goes through the
 * API's own rules and lane, its answers come in one follow-up when it ends, members come at
 * once from the last report. The bridge is driven through its signed endpoints; the platforms'
 * reply URLs are stood in for by a stub of `fetch` in this isolate, which the cluster's Durable
 * Object shares, so nothing leaves the test (the real post: test/e2e/chat-queries.test.ts).
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { sha256Hex, utf8 } from '../../protocol/bytes.ts'
import { waitFor } from '../../scripts/harness/wait.ts'
import * as discord from './discord-interactions.ts'
import { auditMark, auditOf } from './discord-interactions.ts'
import { inQueue } from './helpers.ts'
import { leaseOf, member, pollQueries, record, relay, reportMembers } from './query-bridge.ts'
import { command, ids, principal } from './slack-requests.ts'

/** A request the Durable Object sent out, as the stand-in received it. */
type Sent = { url: string; method: string; body: Record<string, unknown> }
const sent: Sent[] = []

beforeAll(() => {
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    sent.push({ url: request.url, method: request.method, body: await request.json() })
    return new Response('ok')
  })
})
afterAll(() => vi.unstubAllGlobals())

const hook = () => `https://hooks.slack.com/commands/${ids.team}/1/${crypto.randomUUID()}`
const queryIdOf = (text: string) => /\((qry_[0-9a-f]{32})\)/.exec(text)?.[1] ?? `no query id in: ${text}`
const queue = (cluster: string) => env.CLUSTER_QUEUE.get(env.CLUSTER_QUEUE.idFromName(cluster))

type StoredQuery = {
  name: string
  payload: ArrayBuffer
  sender: string
  nodes: string
  tags: string
  timeout_ms: number
}
const storedQuery = (cluster: string, id: string) =>
  inQueue(cluster, (sql) => sql.exec<StoredQuery>('SELECT * FROM queries WHERE id = ?', id).toArray()[0])
const queryCount = (cluster: string) =>
  inQueue(cluster, (sql) => sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM queries').one().n)

/** Run the cluster's alarm until the audit trail after `mark` holds the follow-up of `id`. */
const followupRecorded = (cluster: string, mark: number, id: string) =>
  waitFor(
    async () => {
      await runDurableObjectAlarm(queue(cluster))
      return (await auditOf(cluster, mark)).find((r) => r.eventId === id && r.decision.startsWith('followup-'))
    },
    { timeoutMs: 10_000, what: `the follow-up of ${id} in the audit trail` },
  )

describe('/serf query is asked as the API asks it', () => {
  it('queues the query as typed, answers at once and ephemerally, and records it in the audit trail', async () => {
    const mark = await auditMark('staging')
    const url = hook()
    const answer = await command(ids.erin, 'query echo hello  world -node=node-0 -tag=role=^web$ -timeout=2s', {
      responseUrl: url,
    })
    expect(answer.response_type).toBe('ephemeral')
    expect(answer.text).toMatch(
      /^query `echo` asked on staging \(qry_[0-9a-f]{32}\): answers will follow when it ends\.$/,
    )
    const id = queryIdOf(answer.text)
    const row = await storedQuery('staging', id)
    expect(row).toMatchObject({ name: 'echo', sender: principal(ids.erin), timeout_ms: 2000 })
    expect(new TextDecoder().decode(row!.payload)).toBe('hello  world')
    expect([JSON.parse(row!.nodes), JSON.parse(row!.tags)]).toEqual([['node-0'], { role: '^web$' }])
    const followup = await inQueue('staging', (sql) =>
      sql.exec<{ kind: string; url: string; label: string }>('SELECT * FROM followups WHERE event_id = ?', id).one(),
    )
    expect(followup).toMatchObject({ kind: 'slack', url, label: 'query `echo` on staging' })
    expect((await auditOf('staging', mark)).filter((r) => r.eventId === id)).toEqual([
      expect.objectContaining({
        door: 'slack',
        principal: principal(ids.erin),
        channel: ids.stagingChannel,
        name: 'echo',
        payloadSha256: await sha256Hex(utf8('hello  world')),
        decision: 'queued',
      }),
    ])
  })

  it('a redelivered command (same trigger id) asks nothing more', async () => {
    const before = await queryCount('staging')
    const trigger = `${Date.now()}.redelivered`
    const first = await command(ids.erin, 'query uptime', { trigger })
    const again = await command(ids.erin, 'query uptime', { trigger, headers: { 'x-slack-retry-num': '1' } })
    expect(queryIdOf(again.text)).toBe(queryIdOf(first.text))
    expect(await queryCount('staging')).toBe(before + 1)
  })

  it('refuses a user without query grants, a query outside the patterns, and a cluster not granted', async () => {
    const mark = await auditMark('staging')
    const before = await queryCount('staging')
    // Alice may fire events on staging: queries are granted apart, none by default.
    expect((await command(ids.alice, 'query uptime')).text).toBe(
      `Not asked: Slack user ${ids.alice} (ops) may not ask query "uptime" (no "queries" pattern allows it)`,
    )
    expect((await command(ids.erin, 'query reboot')).text).toMatch(/may not ask query "reboot"/)
    expect((await command(ids.mallory, 'query uptime')).text).toBe(
      `Not asked: Slack user ${ids.mallory} (ops) may not send to cluster "staging"`,
    )
    expect((await command(ids.erin, 'query uptime -cluster=big')).text).toMatch(/may not send to cluster "big"/)
    expect(await queryCount('staging')).toBe(before)
    const refused = (await auditOf('staging', mark)).map((r) => [r.principal, r.name, r.decision, r.reason])
    expect(refused).toEqual([
      [principal(ids.alice), 'uptime', 'refused', expect.stringMatching(/^forbidden: .* may not ask query "uptime"/)],
      [principal(ids.erin), 'reboot', 'refused', expect.stringMatching(/^forbidden: /)],
      [principal(ids.mallory), 'uptime', 'refused', expect.stringMatching(/^forbidden: .* may not send to cluster/)],
    ])
  })

  it('refuses what Serf would: its own names, regexps RE2 cannot run, timeouts out of bounds, oversize', async () => {
    const mark = await auditMark('staging')
    expect((await command(ids.erin, 'query _serf_ping')).text).toBe(
      'Not asked: query name: names starting with "_serf_" are Serf\'s internal queries; its agent refuses them',
    )
    expect((await command(ids.erin, 'query uptime -tag=role=(?<=x)web')).text).toMatch(
      // Slack escapes < in replies, as in anything it shows.
      /^Not asked: -tag role: "\(\?&lt;=x\)web" uses lookbehind, which Go's regexp \(RE2\)/,
    )
    expect((await command(ids.erin, 'query uptime -timeout=50ms')).text).toBe(
      'Not asked: -timeout must be from 100ms to 5m',
    )
    expect((await auditOf('staging', mark)).map((r) => [r.name, r.decision, r.reason?.split(':')[0]])).toEqual([
      ['_serf_ping', 'refused', 'invalid-request'],
      ['uptime', 'refused', 'invalid-request'],
      ['uptime', 'refused', 'invalid-request'],
    ])

    // query-limits: a query_size_limit of 300, and no members reported (the source name counts 128 bytes).
    const tooBig = await command(ids.erin, `query echo ${'x'.repeat(200)} -cluster=query-limits`)
    expect(tooBig.text).toMatch(/^Not asked: query encodes to up to \d+ bytes in Serf's gossip message/)
    expect(tooBig.text).toMatch(/query_size_limit of 300 bytes, which leaves room for at most \d+ bytes of payload/)
    const [trail] = await auditOf('query-limits')
    expect(trail).toMatchObject({
      name: 'echo',
      decision: 'refused',
      reason: expect.stringMatching(/^query-too-large/),
    })
    expect(await queryCount('query-limits')).toBe(0)
  })

  it('without a reply URL the app may post to, it says how to read the answers; only the asker can', async () => {
    const answer = await command(ids.erin, 'query uptime', { responseUrl: 'https://evil.example/commands/1' })
    const id = queryIdOf(answer.text)
    expect(answer.text).toBe(
      `query \`uptime\` asked on staging (${id}): ask \`/serf status ${id} -cluster=staging\` for its answers.`,
    )
    expect((await command(ids.erin, `status ${id}`)).text).toBe(
      `⏳ query \`uptime\` on staging is queued (${id}): 0 responses, 0 acks so far`,
    )
    expect((await command(ids.alice, `status ${id}`)).text).toBe(
      `No query "${id}" of yours in cluster staging (unknown, or pruned after retention).`,
    )
  })
})

describe('the answers come in one follow-up when the query ends', () => {
  it('collects every answer into one post to Slack, recorded as followup-sent', async () => {
    const url = hook()
    const mark = await auditMark('staging')
    const id = queryIdOf((await command(ids.erin, 'query whoami -timeout=2s', { responseUrl: url })).text)
    const token = await leaseOf('staging', 'bridge-chat')
    expect((await pollQueries('staging', 'bridge-chat', token)).map((task) => task.id)).toContain(id)
    const records = [
      record(0, 'ack', 'node-0'),
      record(1, 'ack', 'node-1'),
      record(2, 'ack', 'node-2'),
      record(3, 'response', 'node-0', 'node-0\n'),
      record(4, 'response', 'node-1', 'up\n3 days & <!channel>'),
    ]
    expect(await relay('staging', id, 'bridge-chat', token, records)).toBe('running')
    expect(sent.filter((post) => post.url === url)).toEqual([])
    expect(await relay('staging', id, 'bridge-chat', token, [record(5, 'done')])).toBe('done')

    expect(await followupRecorded('staging', mark, id)).toMatchObject({
      door: 'slack',
      principal: principal(ids.erin),
      name: 'whoami',
      decision: 'followup-sent',
    })
    const posts = sent.filter((post) => post.url === url)
    expect(posts).toEqual([
      {
        url,
        method: 'POST',
        body: {
          response_type: 'ephemeral',
          replace_original: false,
          text: [
            `✅ query \`whoami\` on staging done (${id}): 2 responses, 3 acks`,
            'Acked without an answer: node-2',
            '• node-0: node-0',
            '• node-1: up ⏎ 3 days &amp; &lt;!channel&gt;',
          ].join('\n'),
        },
      },
    ])
  })

  it('a query no bridge starts expires on time, and its follow-up says so', async () => {
    const url = hook()
    const mark = await auditMark('prod')
    const id = queryIdOf((await command(ids.erin, 'query uptime -cluster=prod -timeout=1s', { responseUrl: url })).text)
    // The alarm waits for the query's deadline, not for its routine minute.
    const alarm = await runInDurableObject(queue('prod'), (_, state) => state.storage.getAlarm())
    expect(alarm! - Date.now()).toBeLessThanOrEqual(1_001)
    await inQueue('prod', (sql) => sql.exec('UPDATE queries SET created_at = ? WHERE id = ?', Date.now() - 1_500, id))
    expect((await followupRecorded('prod', mark, id)).decision).toBe('followup-sent')
    expect(sent.filter((post) => post.url === url).map((post) => post.body.text)).toEqual([
      `⌛ query \`uptime\` on prod expired (${id}): no bridge started the query within its timeout of 1s`,
    ])
  })

  it("edits Discord's original answer, every answer fitted into Discord's 2,000 characters", async () => {
    const oncall = { roles: [discord.ids.oncallRole], channel: discord.ids.prodChannel }
    const interaction = discord.command(discord.ids.carol, 'query whoami -timeout=3s', oncall)
    const answer = await discord.interact(interaction)
    expect(answer.data).toMatchObject({ flags: 64, content: expect.stringMatching(/^query `whoami` asked on prod/) })
    const id = queryIdOf(answer.data!.content)
    const mark = await auditMark('prod')
    const token = await leaseOf('prod', 'bridge-chat')
    expect((await pollQueries('prod', 'bridge-chat', token)).map((task) => task.id)).toEqual([id])
    // Ten nodes answering 400 characters each: more than one message holds.
    const answers = Array.from({ length: 10 }, (_, i) => record(i, 'response', `node-${i}`, `${i}`.repeat(400)))
    await relay('prod', id, 'bridge-chat', token, [...answers, record(10, 'done')])

    expect((await followupRecorded('prod', mark, id)).decision).toBe('followup-sent')
    const url = `https://discord.com/api/v10/webhooks/${discord.ids.application}/${interaction.token}/messages/@original`
    const [post, ...more] = sent.filter((p) => p.url === url)
    expect(more).toEqual([])
    expect(post).toMatchObject({ method: 'PATCH', body: { components: [], allowed_mentions: { parse: [] } } })
    const content = post!.body.content as string
    expect(content.length).toBeLessThanOrEqual(2000)
    const lines = content.split('\n')
    expect(lines[0]).toBe(`✅ query \`whoami\` on prod done (${id}): 10 responses, 0 acks`)
    expect(lines[1]).toBe(`• node-0: ${'0'.repeat(299)}…`)
    expect(lines.at(-1)).toMatch(/^… and [1-9] more answers? not shown$/)
  })
})

describe('/serf members', () => {
  it('before any report, says no bridge has reported yet', async () => {
    expect((await command(ids.erin, 'members -cluster=prod')).text).toMatch(
      /^No bridge has reported the members of prod yet: the active bridge reports them when it starts/,
    )
  })

  it('lists the last report with its age, filtered by status, to anyone granted the cluster', async () => {
    const token = await leaseOf('staging', 'bridge-chat')
    await reportMembers('staging', 'bridge-chat', token, [
      member('node-2', 'alive', { role: 'db', rack: 'r1' }),
      member('node-0', 'alive', { role: 'web' }),
      member('node-1', 'failed'),
    ])
    await inQueue('staging', (sql) => sql.exec('UPDATE members_report SET reported_at = ?', Date.now() - 12_000))
    const all = await command(ids.erin, 'members')
    expect(all.response_type).toBe('ephemeral')
    expect(all.text).toMatch(/^Members of staging as of 1[23] s ago \(bridge "bridge-chat"\): 3 members\n/)
    expect(all.text.split('\n').slice(1)).toEqual([
      '• node-0  127.0.0.1:7946  alive  role=web',
      '• node-1  127.0.0.1:7946  failed',
      '• node-2  127.0.0.1:7946  alive  rack=r1,role=db',
    ])
    const alive = await command(ids.alice, 'members -status=alive')
    expect(alive.text).toMatch(/: 2 of 3 match -status=alive\n• node-0 .*\n• node-2 /)
    expect((await command(ids.erin, 'members -status=(')).text).toMatch(/^-status: "\(" is not a valid regular/)
    expect((await command(ids.mallory, 'members')).text).toBe(
      'You may not read the members of staging: none of your grants here names it.',
    )
  })
})
