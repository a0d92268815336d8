/**
 * Queries and members at the edge: asking, Serf's refusals, the bridge's query lane ahead of
 * events, records relayed while the query runs, expiry and failure, the members snapshot, and
 * fencing by the events lease. Each test that looks at a whole lane or at the lease has a
 * cluster of its own (vitest.worker.config.mts) and moves stored times instead of waiting.
 */
import { runDurableObjectAlarm } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { AuditPage } from '../../protocol/audit.ts'
import type { MembersSnapshot, QueryPollResponse, QueryRecord, QueryStatus } from '../../protocol/query.ts'
import type { PollResponse } from '../../protocol/wire.ts'
import { parseConfig } from '../../src/config.ts'
import { bridge, fire, get, inQueue, newId, post, problem, type SignedOptions } from './helpers.ts'

const ask = (cluster: string, body: Record<string, unknown>, options: SignedOptions = {}) =>
  post(`/v1/clusters/${cluster}/queries`, { cluster, ...body }, options)

async function accepted(res: Response): Promise<string> {
  if (res.status !== 202) throw new Error(`expected 202, got ${res.status}: ${await res.text()}`)
  return ((await res.json()) as { id: string }).id
}

async function statusOf(cluster: string, id: string): Promise<QueryStatus> {
  const res = await get(`/v1/clusters/${cluster}/queries/${id}`)
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${await res.text()}`)
  return (await res.json()) as QueryStatus
}

/** The events lease of `cluster` for `bridgeId`, taken by an events poll that waits for nothing. */
async function leaseOf(cluster: string, bridgeId: string): Promise<number> {
  const res = await bridge(cluster, 'poll', { bridgeId, after: 0, limit: 1, waitMs: 0 })
  if (res.status !== 200) throw new Error(`events poll answered ${res.status}: ${await res.text()}`)
  return ((await res.json()) as PollResponse).lease.token
}

const pollQueries = (cluster: string, bridgeId: string, leaseToken: number, waitMs = 0) =>
  bridge(cluster, 'queries/poll', { bridgeId, leaseToken, waitMs })

async function tasks(res: Response): Promise<QueryPollResponse['queries']> {
  if (res.status !== 200) throw new Error(`query poll answered ${res.status}: ${await res.text()}`)
  return ((await res.json()) as QueryPollResponse).queries
}

const relay = (cluster: string, id: string, bridgeId: string, leaseToken: number, records: unknown[]) =>
  bridge(cluster, `queries/${id}/records`, { bridgeId, leaseToken, records })

const record = (index: number, type: QueryRecord['type'], from?: string, payload?: Uint8Array) => ({
  index,
  type,
  ...(from ? { from } : {}),
  ...(payload ? { payloadBase64: btoa(String.fromCharCode(...payload)) } : {}),
  at: new Date().toISOString(),
})

const text = (value: string) => new TextEncoder().encode(value)

const member = (name: string, status = 'alive', tags: Record<string, string> = {}) => ({
  name,
  addr: '127.0.0.1',
  port: 7946,
  status,
  tags,
})

describe('asking a query', () => {
  it('is accepted once per request id, and readable by the sender that asked only', async () => {
    const id = newId()
    const body = { name: 'uptime', payload: 'now', nodes: ['node-0'], tags: { role: '(?i)^web' }, timeoutMs: 2000 }
    const res = await ask('staging', body, { id })
    const queryId = await accepted(res)
    expect(queryId).toMatch(/^qry_/)
    expect(res.headers.get('location')).toBe(`/v1/clusters/staging/queries/${queryId}`)

    const retry = await ask('staging', body, { id })
    expect(retry.status).toBe(202)
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    expect(await accepted(retry)).toBe(queryId)
    const reused = await ask('staging', { ...body, payload: 'other' }, { id })
    expect(reused.status).toBe(409)
    expect((await problem(reused)).type).toBe('urn:serf-edge:problem:request-id-reused')

    expect(await statusOf('staging', queryId)).toMatchObject({
      id: queryId,
      cluster: 'staging',
      name: 'uptime',
      state: 'queued',
      timeoutMs: 2000,
      requestAck: true,
      acks: [],
      responses: [],
      totals: { acks: 0, responses: 0 },
    })
    const other = await get(`/v1/clusters/staging/queries/${queryId}`, { sender: 'chatops' })
    expect(other.status).toBe(404)
    expect((await problem(other)).type).toBe('urn:serf-edge:problem:unknown-query')
  })

  it('goes into the audit trail, queued or refused, with the query id', async () => {
    const queryId = await accepted(await ask('staging', { name: 'disk-free' }))
    expect((await ask('staging', { name: '_serf_ping' })).status).toBe(422)
    const res = await get('/v1/clusters/staging/audit?limit=500')
    const { records } = (await res.json()) as AuditPage
    expect(records.find((r) => r.eventId === queryId)).toMatchObject({ decision: 'queued', name: 'disk-free' })
    expect(records.find((r) => r.name === '_serf_ping')).toMatchObject({
      decision: 'refused',
      reason: expect.stringMatching(/^invalid-request: .*_serf_/),
    })
  })
})

describe('what Serf would refuse is refused before queueing', () => {
  it("refuses Serf's internal names, as its agent does over RPC", async () => {
    for (const name of ['_serf_ping', '_serf_list-keys']) {
      const res = await ask('prod', { name })
      expect(res.status).toBe(422)
      expect((await problem(res)).detail).toMatch(/name: .*"_serf_" are Serf's internal queries/)
    }
  })

  it('refuses tag filters Go cannot run, and takes its flag groups', async () => {
    const cases = [
      ['(unclosed', /tags\.role: "\(unclosed" is not a valid regular expression/],
      ['(?<=web)-1', /lookbehind, which Go's regexp \(RE2\)/],
      ['^(?!db)', /lookahead/],
      ['(a)\\1', /backreferences/],
    ] as const
    for (const [expr, detail] of cases) {
      const res = await ask('prod', { name: 'uptime', tags: { role: expr } })
      expect(res.status, expr).toBe(422)
      expect((await problem(res)).detail).toMatch(detail)
    }
    expect((await ask('prod', { name: 'uptime', tags: { role: '(?i)^WEB-\\d+$', dc: '\\101' } })).status).toBe(202)
  })

  it('refuses a timeout out of bounds and a relay factor over 5', async () => {
    for (const body of [{ timeoutMs: 50 }, { timeoutMs: 300_001 }, { relayFactor: 6 }]) {
      const res = await ask('prod', { name: 'uptime', ...body })
      expect(res.status, JSON.stringify(body)).toBe(422)
    }
  })

  it("refuses a query over the cluster's query_size_limit, naming the limit, the size and the room", async () => {
    // No members reported yet: the source node's name counts as 128 bytes.
    const tooBig = await ask('query-limits', { name: 'uptime', payload: 'x'.repeat(200) })
    expect(tooBig.status).toBe(413)
    const refusal = await problem(tooBig)
    expect(refusal).toMatchObject({ type: 'urn:serf-edge:problem:query-too-large', limit: 300 })
    expect(refusal.size).toBeGreaterThan(300)
    expect(refusal.detail).toMatch(/query_size_limit of 300 bytes/)
    expect(refusal.detail).toMatch(/128 bytes, the edge's bound while no bridge has reported/)
    const maxPayload = refusal.maxPayload as number
    expect(maxPayload).toBeGreaterThan(0)
    expect((await ask('query-limits', { name: 'uptime', payload: 'x'.repeat(maxPayload) })).status).toBe(202)
    expect((await ask('query-limits', { name: 'uptime', payload: 'x'.repeat(maxPayload + 1) })).status).toBe(413)

    // Once the bridge reported the members, the longest name bounds the source node's.
    const token = await leaseOf('query-limits', 'bridge-l')
    const report = await bridge('query-limits', 'members', {
      bridgeId: 'bridge-l',
      leaseToken: token,
      members: [member('n-1')],
    })
    expect(report.status).toBe(200)
    // 128 bytes of name and a 3-byte header became 3 bytes and a 1-byte header: 127 bytes more room.
    expect((await ask('query-limits', { name: 'uptime', payload: 'x'.repeat(maxPayload + 127) })).status).toBe(202)
    const over = await problem(await ask('query-limits', { name: 'uptime', payload: 'x'.repeat(maxPayload + 128) }))
    expect(over.detail).toMatch(/the longest member name the bridge reported \(3 bytes\)/)
  })

  it("refuses a sender outside its query scope, which is separate from events' and empty by default", async () => {
    const reboot = await ask('staging', { name: 'reboot' }, { sender: 'chatops' })
    expect(reboot.status).toBe(403)
    expect((await problem(reboot)).detail).toMatch(/may not ask query "reboot"/)
    const elsewhere = await ask('prod', { name: 'uptime' }, { sender: 'chatops' })
    expect(elsewhere.status).toBe(403)
    expect((await ask('staging', { name: 'uptime' }, { sender: 'chatops' })).status).toBe(202)

    const base = {
      CLUSTERS: { staging: {} },
      BRIDGE_KEYS_STAGING: env.BRIDGE_KEYS_STAGING,
      SENDER_KEYS_BOT: env.SENDER_KEYS_CHATOPS,
    }
    const config = await parseConfig({ ...base, SENDERS: { bot: { clusters: ['staging'] } } })
    expect(config.senders.get('bot')?.queries).toEqual([])
    expect(config.clusters.get('staging')).toMatchObject({ querySizeLimit: 1024, queryResponseSizeLimit: 1024 })
    await expect(
      parseConfig({ ...base, SENDERS: {}, CLUSTERS: { staging: { querySizeLimit: 1396 } } }),
    ).rejects.toThrow(/querySizeLimit must be at most 1395: a larger query does not fit one gossip packet/)
  })
})

describe('the bridge runs queries', () => {
  it('hands queries out through their own poll, ahead of the queued events, and marks them running', async () => {
    for (const name of ['a', 'b', 'c']) await fire('query-ahead', { name })
    const token = await leaseOf('query-ahead', 'bridge-q')
    const queryId = await accepted(
      await ask('query-ahead', { name: 'uptime', payloadBase64: 'AP8=', tags: { role: 'web' }, requestAck: false }),
    )
    const [task, ...rest] = await tasks(await pollQueries('query-ahead', 'bridge-q', token))
    expect(rest).toEqual([])
    expect(task).toMatchObject({
      id: queryId,
      name: 'uptime',
      payloadBase64: 'AP8=',
      nodes: [],
      tags: { role: 'web' },
      timeoutMs: 0,
      requestAck: false,
      relayFactor: 0,
    })
    expect(await statusOf('query-ahead', queryId)).toMatchObject({ state: 'running', startedAt: expect.any(String) })
    expect(await tasks(await pollQueries('query-ahead', 'bridge-q', token))).toEqual([])
    const events = await bridge('query-ahead', 'poll', { bridgeId: 'bridge-q', after: 0, limit: 10, waitMs: 0 })
    expect(((await events.json()) as PollResponse).backlog).toBe(3)
  })

  it('a waiting query poll answers as soon as a query is asked', async () => {
    const token = await leaseOf('query-wake', 'bridge-w')
    const started = Date.now()
    const waiting = pollQueries('query-wake', 'bridge-w', token, 20_000).then(tasks)
    const queryId = await accepted(await ask('query-wake', { name: 'uptime' }))
    expect((await waiting).map((t) => t.id)).toEqual([queryId])
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('stores records once by index, shows answers while the query runs, and ends it on done', async () => {
    const token = await leaseOf('query-records', 'bridge-r')
    const queryId = await accepted(await ask('query-records', { name: 'uptime', timeoutMs: 5000 }))
    await tasks(await pollQueries('query-records', 'bridge-r', token))
    const acks = [record(0, 'ack', 'node-0'), record(1, 'ack', 'node-1')]
    expect(await (await relay('query-records', queryId, 'bridge-r', token, acks)).json()).toEqual({ state: 'running' })
    expect(await statusOf('query-records', queryId)).toMatchObject({
      state: 'running',
      totals: { acks: 2, responses: 0 },
    })

    // A retried batch stores nothing twice, nor a node's second ack (Serf counts one per node);
    // answers are text when UTF-8, base64 otherwise.
    const answers = [
      ...acks,
      record(2, 'response', 'node-0', text('up 3 days\n')),
      record(3, 'response', 'node-1', new Uint8Array([0xff, 0])),
      record(6, 'ack', 'node-0'),
    ]
    expect((await relay('query-records', queryId, 'bridge-r', token, answers)).status).toBe(200)
    const running = await statusOf('query-records', queryId)
    expect(running.acks.map((a) => a.node)).toEqual(['node-0', 'node-1'])
    expect(running.responses).toEqual([
      { node: 'node-0', at: answers[2]!.at, payload: 'up 3 days\n' },
      { node: 'node-1', at: answers[3]!.at, payloadBase64: '/wA=' },
    ])

    const done = await relay('query-records', queryId, 'bridge-r', token, [record(4, 'done')])
    expect(await done.json()).toEqual({ state: 'done' })
    const final = await statusOf('query-records', queryId)
    expect(final).toMatchObject({ state: 'done', finishedAt: expect.any(String), totals: { acks: 2, responses: 2 } })
    const late = await relay('query-records', queryId, 'bridge-r', token, [record(5, 'ack', 'node-2')])
    expect(await late.json()).toEqual({ state: 'done' })
    expect((await statusOf('query-records', queryId)).totals).toEqual({ acks: 2, responses: 2 })
  })

  it("fails a query Serf refused to start, with Serf's own text", async () => {
    const token = await leaseOf('query-records', 'bridge-r')
    const queryId = await accepted(await ask('query-records', { name: 'uptime', timeoutMs: 5000 }))
    await tasks(await pollQueries('query-records', 'bridge-r', token))
    const refused = record(0, 'error', undefined, text('query exceeds limit of 1024 bytes'))
    expect(await (await relay('query-records', queryId, 'bridge-r', token, [refused])).json()).toEqual({
      state: 'failed',
    })
    expect(await statusOf('query-records', queryId)).toMatchObject({
      state: 'failed',
      error: 'Serf refused the query: query exceeds limit of 1024 bytes',
    })
  })

  it('refuses records it cannot store: an answer over the response limit, one without its node, an unknown query', async () => {
    const token = await leaseOf('query-limits', 'bridge-l')
    const queryId = await accepted(await ask('query-limits', { name: 'uptime' }))
    await tasks(await pollQueries('query-limits', 'bridge-l', token))
    const big = await relay('query-limits', queryId, 'bridge-l', token, [
      record(0, 'response', 'n-1', new Uint8Array(65)),
    ])
    expect(big.status).toBe(422)
    expect((await problem(big)).detail).toMatch(
      /65 bytes from "n-1" is over the cluster's queryResponseSizeLimit of 64/,
    )
    const anonymous = await relay('query-limits', queryId, 'bridge-l', token, [record(0, 'ack')])
    expect(anonymous.status).toBe(422)
    expect((await statusOf('query-limits', queryId)).totals).toEqual({ acks: 0, responses: 0 })
    const fits = await relay('query-limits', queryId, 'bridge-l', token, [
      record(0, 'response', 'n-1', new Uint8Array(64)),
    ])
    expect(fits.status).toBe(200)
    const unknown = await relay('query-limits', 'qry_nope', 'bridge-l', token, [record(0, 'done')])
    expect(unknown.status).toBe(404)
  })
})

describe('no query hangs', () => {
  it('a query no bridge starts within its timeout expires and is never handed out', async () => {
    const timed = await accepted(await ask('query-expiry', { name: 'uptime', timeoutMs: 1000 }))
    const untimed = await accepted(await ask('query-expiry', { name: 'uptime' }))
    // Asked 1.5 s ago; the untimed one is bounded by Serf's default at 10,000 members (40 s).
    await inQueue('query-expiry', (sql) => sql.exec('UPDATE queries SET created_at = ?', Date.now() - 1500))
    expect(await statusOf('query-expiry', timed)).toMatchObject({
      state: 'expired',
      finishedAt: expect.any(String),
      error: 'no bridge started the query within its timeout of 1s',
    })
    expect((await statusOf('query-expiry', untimed)).state).toBe('queued')
    await inQueue('query-expiry', (sql) =>
      sql.exec('UPDATE queries SET created_at = ? WHERE id = ?', Date.now() - 40_001, untimed),
    )
    expect((await statusOf('query-expiry', untimed)).error).toMatch(/within Serf's default timeout .* of 40s/)
    const token = await leaseOf('query-expiry', 'bridge-x')
    expect(await tasks(await pollQueries('query-expiry', 'bridge-x', token))).toEqual([])
  })

  it('a running query fails when its bridge does not report the end by the deadline plus 10 s', async () => {
    const token = await leaseOf('query-fail', 'bridge-f')
    const onAlarm = await accepted(await ask('query-fail', { name: 'uptime', timeoutMs: 2000 }))
    const onRead = await accepted(await ask('query-fail', { name: 'uptime', timeoutMs: 2000 }))
    await tasks(await pollQueries('query-fail', 'bridge-f', token))
    const startedAgo = async (id: string, ms: number) =>
      inQueue('query-fail', (sql) => sql.exec('UPDATE queries SET started_at = ? WHERE id = ?', Date.now() - ms, id))
    const stateOf = (id: string) =>
      inQueue(
        'query-fail',
        (sql) => sql.exec<{ state: string }>('SELECT state FROM queries WHERE id = ?', id).one().state,
      )

    // The alarm settles it without anyone reading.
    await startedAgo(onAlarm, 12_001)
    const stub = env.CLUSTER_QUEUE.get(env.CLUSTER_QUEUE.idFromName('query-fail'))
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect(await stateOf(onAlarm)).toBe('failed')
    expect(await stateOf(onRead)).toBe('running')

    // A read settles it too.
    await startedAgo(onRead, 11_000)
    expect((await statusOf('query-fail', onRead)).state).toBe('running')
    await startedAgo(onRead, 12_001)
    expect(await statusOf('query-fail', onRead)).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(
        /did not report the end of the query within its timeout of 2s plus 10s; it may have died/,
      ),
    })
    expect(await (await relay('query-fail', onRead, 'bridge-f', token, [record(0, 'done')])).json()).toEqual({
      state: 'failed',
    })
  })
})

describe('only the bridge holding the events lease runs queries and reports members', () => {
  it('refuses a stale lease token everywhere, and fails the query the old holder ran', async () => {
    const a = await leaseOf('query-lease', 'bridge-a')
    const queryId = await accepted(await ask('query-lease', { name: 'uptime', timeoutMs: 5000 }))
    await tasks(await pollQueries('query-lease', 'bridge-a', a))
    // Bridge A falls silent until its lease lapses, and bridge B takes over.
    await inQueue('query-lease', (sql) => sql.exec('UPDATE lease SET expires_at = ?', Date.now() - 1))
    const b = await leaseOf('query-lease', 'bridge-b')
    expect(b).toBeGreaterThan(a)

    const stale = [
      await pollQueries('query-lease', 'bridge-a', a),
      await relay('query-lease', queryId, 'bridge-a', a, [record(0, 'done')]),
      await bridge('query-lease', 'members', { bridgeId: 'bridge-a', leaseToken: a, members: [] }),
    ]
    for (const res of stale) {
      expect(res.status).toBe(409)
      expect(await problem(res)).toMatchObject({ type: 'urn:serf-edge:problem:lease-lost', holder: 'bridge-b' })
    }
    expect(await statusOf('query-lease', queryId)).toMatchObject({
      state: 'failed',
      error: `bridge "bridge-a" lost the cluster's lease while the query ran; its answers can no longer be relayed`,
    })
    expect((await pollQueries('query-lease', 'bridge-b', b)).status).toBe(200)
    const unsigned = await bridge(
      'query-lease',
      'queries/poll',
      { bridgeId: 'bridge-b', leaseToken: b, waitMs: 0 },
      {
        keys: [env.TEST_KEYS.ci[0]!],
      },
    )
    expect(unsigned.status).toBe(401)
  })
})

describe('members', () => {
  it('serves the last report with its age and origin, to senders of the cluster', async () => {
    const before = await get('/v1/clusters/query-members/members')
    expect(before.status).toBe(404)
    expect(await problem(before)).toMatchObject({
      type: 'urn:serf-edge:problem:members-not-reported',
      detail: expect.stringMatching(/no bridge has reported the members of cluster "query-members" yet/),
    })

    const token = await leaseOf('query-members', 'bridge-m')
    const report = (members: unknown[]) =>
      bridge('query-members', 'members', { bridgeId: 'bridge-m', leaseToken: token, members })
    const three = [
      member('node-2', 'alive', { role: 'db' }),
      member('node-0', 'alive', { role: 'web' }),
      member('node-1', 'failed'),
    ]
    expect(await (await report(three)).json()).toEqual({ members: 3 })
    const res = await get('/v1/clusters/query-members/members')
    const snapshot = (await res.json()) as MembersSnapshot
    expect(snapshot).toMatchObject({ cluster: 'query-members', bridgeId: 'bridge-m' })
    expect(snapshot.members.map((m) => [m.name, m.status, m.tags])).toEqual([
      ['node-0', 'alive', { role: 'web' }],
      ['node-1', 'failed', {}],
      ['node-2', 'alive', { role: 'db' }],
    ])
    expect(snapshot.ageMs).toBeLessThan(5_000)

    // Reported 12 s ago: the age says so.
    await inQueue('query-members', (sql) => sql.exec('UPDATE members_report SET reported_at = ?', Date.now() - 12_000))
    const aged = (await (await get('/v1/clusters/query-members/members')).json()) as MembersSnapshot
    expect(aged.ageMs).toBeGreaterThanOrEqual(12_000)
    expect(Date.parse(aged.asOf)).toBeLessThanOrEqual(Date.now() - 12_000)

    // The next report replaces the snapshot whole.
    await report([member('node-0')])
    const replaced = (await (await get('/v1/clusters/query-members/members')).json()) as MembersSnapshot
    expect(replaced.members.map((m) => m.name)).toEqual(['node-0'])
    expect(replaced.ageMs).toBeLessThan(5_000)

    expect((await get('/v1/clusters/query-members/members', { sender: 'chatops' })).status).toBe(403)
  })

  it("bound Serf's default timeout by their number: 8 s for a cluster of up to 9", async () => {
    const cluster = 'query-timeout-bound'
    const token = await leaseOf(cluster, 'bridge-t')
    await bridge(cluster, 'members', { bridgeId: 'bridge-t', leaseToken: token, members: [member('node-0')] })
    const queryId = await accepted(await ask(cluster, { name: 'uptime' }))
    await inQueue(cluster, (sql) => sql.exec('UPDATE queries SET created_at = ?', Date.now() - 7_000))
    expect((await statusOf(cluster, queryId)).state).toBe('queued')
    await inQueue(cluster, (sql) => sql.exec('UPDATE queries SET created_at = ?', Date.now() - 8_001))
    expect(await statusOf(cluster, queryId)).toMatchObject({ state: 'expired', error: expect.stringMatching(/of 8s$/) })
  })
})
