/**
 * `serf-edge query` and `serf-edge members` in-process against a real edge (`wrangler dev`),
 * with the test playing the bridge over the bridge API: output as `serf query` and
 * `serf members` print it, answers printed while the query runs, and the exit codes.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { runCli } from '../../client/cli.ts'
import { type QueryEvent, query } from '../../client/index.ts'
import { type EdgeSigner, sendOnce } from '../../protocol/edge-request.ts'
import { type QueryRecord, queryPollResponseSchema, queryRecordsResponseSchema } from '../../protocol/query.ts'
import { importSignKey } from '../../protocol/signature.ts'
import { pollResponseSchema, releaseResponseSchema } from '../../protocol/wire.ts'
import { type LocalEdge, startEdge } from '../helpers/edge.ts'
import { waitFor } from '../helpers/serf-agent.ts'
import { cli } from './run-cli.ts'

let dir: string
let edge: LocalEdge
let bridgeSigner: EdgeSigner
let lease: number

const senders = {
  bot: { clusters: ['main'], queries: ['uptime', 'disk-*'] },
  other: { clusters: ['main'] },
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-query-cli-'))
  edge = await startEdge({ dir, clusters: { main: {} }, senders })
  bridgeSigner = { keys: [await importSignKey(edge.bridgeKeys.main!)], fetch }
  lease = (await asBridge('poll', { after: 0, limit: 1, waitMs: 0 }, pollResponseSchema)).lease.token
})

afterAll(async () => {
  await edge?.stop()
  await rm(dir, { recursive: true, force: true })
})

const env = (sender = 'bot') => ({
  SERF_EDGE_URL: edge.url,
  SERF_EDGE_CLUSTER: 'main',
  SERF_EDGE_SENDER: sender,
  SERF_EDGE_KEY: edge.senderKeys[sender]!,
})

function asBridge<T>(
  path: string,
  body: Record<string, unknown>,
  schema: z.ZodType<T>,
  bridgeId = 'test-bridge',
): Promise<T> {
  const url = new URL(`/v1/clusters/main/bridge/${path}`, edge.url)
  const json = JSON.stringify({ cluster: 'main', bridgeId, ...body })
  return sendOnce(bridgeSigner, { method: 'POST', url, body: json }, schema, { timeoutMs: 30_000 })
}

const relay = (id: string, records: QueryRecord[]) =>
  asBridge(`queries/${id}/records`, { leaseToken: lease, records }, queryRecordsResponseSchema)

let index = 0
const record = (type: QueryRecord['type'], from?: string, payload?: string): QueryRecord => ({
  index: index++,
  type,
  ...(from ? { from } : {}),
  ...(payload !== undefined ? { payloadBase64: Buffer.from(payload).toString('base64') } : {}),
  at: new Date().toISOString(),
})

describe('serf-edge query', () => {
  it('prints acks and responses while the query runs, then the totals, as serf query does; exits 0', async () => {
    let stdout = ''
    let stderr = ''
    const run = runCli(['query', '-timeout=3s', '-tag', 'role=^web', 'uptime', 'now'], {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      env: { HOME: join(dir, 'no-home'), ...env() },
    })
    const [task] = (await asBridge('queries/poll', { leaseToken: lease, waitMs: 20_000 }, queryPollResponseSchema))
      .queries
    expect(task).toMatchObject({ name: 'uptime', tags: { role: '^web' }, timeoutMs: 3000, requestAck: true })
    expect(Buffer.from(task!.payloadBase64, 'base64').toString()).toBe('now')

    await relay(task!.id, [record('ack', 'node-0'), record('ack', 'node-1')])
    await waitFor(() => stdout.includes("Ack from 'node-1'"), { what: 'the acks printed while the query runs' })
    expect(stdout).toBe("Query 'uptime' dispatched\nAck from 'node-0'\nAck from 'node-1'\n")
    await relay(task!.id, [record('response', 'node-0', 'up 3 days\n'), record('response', 'node-1', 'up 4 days')])
    await relay(task!.id, [record('done')])

    expect(await run).toBe(0)
    expect(stderr).toBe('')
    expect(stdout).toBe(
      [
        "Query 'uptime' dispatched",
        "Ack from 'node-0'",
        "Ack from 'node-1'",
        "Response from 'node-0': up 3 days",
        "Response from 'node-1': up 4 days",
        'Total Acks: 2',
        'Total Responses: 2',
        '',
      ].join('\n'),
    )
  })

  it('prints one document with -format=json, as serf query -format=json does', async () => {
    const run = cli(['query', '-format=json', '-no-ack', 'disk-free'], { env: env() })
    const [task] = (await asBridge('queries/poll', { leaseToken: lease, waitMs: 20_000 }, queryPollResponseSchema))
      .queries
    expect(task).toMatchObject({ name: 'disk-free', requestAck: false, timeoutMs: 0 })
    await relay(task!.id, [record('response', 'node-0', '42%\n'), record('done')])
    const result = await run
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ Acks: null, Responses: { 'node-0': '42%\n' } })
  })

  it('exits 4 when no bridge starts the query within its timeout', async () => {
    const result = await cli(['query', '-timeout=100ms', 'uptime'], { env: env() })
    expect(result.code).toBe(4)
    expect(result.stdout).toBe("Query 'uptime' dispatched\n")
    expect(result.stderr).toMatch(/query 'uptime' \(qry_\w+\) expired: no bridge started the query within its timeout/)
  })

  it('exits 2 for a query the edge refuses or that is refused before sending', async () => {
    const outOfScope = await cli(['query', 'uptime'], { env: env('other') })
    expect(outOfScope.code).toBe(2)
    expect(outOfScope.stderr).toMatch(/403 Outside the sender's scope\n {2}sender "other" may not ask query "uptime"/)
    const internal = await cli(['query', '_serf_ping'], { env: env() })
    expect(internal.code).toBe(2)
    expect(internal.stderr).toMatch(/invalid query, not sent: name: names starting with "_serf_"/)
    const badRegex = await cli(['query', '-tag', 'role=(?<=a)b', 'uptime'], { env: env() })
    expect(badRegex.code).toBe(2)
    expect(badRegex.stderr).toMatch(/tags\.role: .*lookbehind/)
  })

  it('exits 7 when the query fails: its bridge lost the lease while it ran', async () => {
    let stdout = ''
    let stderr = ''
    const run = runCli(['query', '-timeout=5s', 'uptime'], {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      env: { HOME: join(dir, 'no-home'), ...env() },
    })
    const [task] = (await asBridge('queries/poll', { leaseToken: lease, waitMs: 20_000 }, queryPollResponseSchema))
      .queries
    await relay(task!.id, [record('ack', 'node-0')])
    // Mid-query, the lease passes to another bridge: this one can no longer relay the answers.
    const takeOver = async (from: string, to: string, token: number) => {
      await asBridge('release', { leaseToken: token }, releaseResponseSchema, from)
      return (await asBridge('poll', { after: 0, limit: 1, waitMs: 0 }, pollResponseSchema, to)).lease.token
    }
    const other = await takeOver('test-bridge', 'bridge-2', lease)

    expect(await run).toBe(7)
    expect(stdout).toBe("Query 'uptime' dispatched\nAck from 'node-0'\nTotal Acks: 1\nTotal Responses: 0\n")
    expect(stderr).toMatch(/query 'uptime' \(qry_\w+\) failed: bridge "test-bridge" lost the cluster's lease/)
    lease = await takeOver('bridge-2', 'test-bridge', other)
  })

  it('exits 1 for a usage mistake', async () => {
    for (const args of [['query'], ['query', '-relay-factor=9', 'uptime'], ['query', '-tag', 'role', 'uptime']]) {
      expect((await cli(args, { env: env() })).code, args.join(' ')).toBe(1)
    }
  })
})

describe('the SDK', () => {
  it('query() yields each ack and response once, bytes and text, then done with the final status', async () => {
    const edgeOptions = {
      edgeUrl: edge.url,
      cluster: 'main',
      sender: 'bot',
      key: edge.senderKeys.bot!,
      pollIntervalMs: 100,
    }
    const seen: QueryEvent[] = []
    let id = ''
    const collecting = (async () => {
      for await (const event of query({
        ...edgeOptions,
        name: 'uptime',
        timeoutMs: 2000,
        onAccepted: (a) => (id = a.id),
      })) {
        seen.push(event)
      }
    })()
    const [task] = (await asBridge('queries/poll', { leaseToken: lease, waitMs: 20_000 }, queryPollResponseSchema))
      .queries
    await relay(task!.id, [record('ack', 'node-0'), record('response', 'node-0', 'ok')])
    await waitFor(() => seen.length === 2, { what: 'the first records' })
    // The same answers again, as a relay through another node would bring them, and a binary one.
    const binary = { ...record('response', 'node-1'), payloadBase64: Buffer.from([0xff, 0xfe]).toString('base64') }
    await relay(task!.id, [record('ack', 'node-0'), binary, record('done')])
    await collecting
    expect(seen.map((e) => [e.type, 'node' in e ? e.node : e.state])).toEqual([
      ['ack', 'node-0'],
      ['response', 'node-0'],
      ['response', 'node-1'],
      ['done', 'done'],
    ])
    expect(seen[1]).toMatchObject({ text: 'ok', payload: new Uint8Array(Buffer.from('ok')) })
    expect(seen[2]).toMatchObject({ text: undefined, payload: new Uint8Array([0xff, 0xfe]) })
    expect(seen[3]).toMatchObject({ status: { id, state: 'done', totals: { acks: 1, responses: 2 } } })
  })
})

describe('serf-edge members', () => {
  it('exits 2 before any bridge reported, then prints the report as serf members does, with its age', async () => {
    const before = await cli(['members'], { env: env() })
    expect(before.code).toBe(2)
    expect(before.stderr).toMatch(/no bridge has reported the members of cluster "main" yet/)

    const members = [
      { name: 'web-1', addr: '10.0.0.1', port: 7946, status: 'alive', tags: { role: 'web', dc: 'eu' } },
      { name: 'db-1', addr: 'fd00::2', port: 7946, status: 'alive', tags: { role: 'db' } },
      { name: 'web-22', addr: '10.0.0.22', port: 7946, status: 'failed', tags: { role: 'web' } },
    ]
    await asBridge('members', { leaseToken: lease, members }, z.object({ members: z.number() }))

    const all = await cli(['members'], { env: env() })
    expect(all.code).toBe(0)
    expect(all.stdout).toBe(
      [
        'db-1    [fd00::2]:7946  alive   role=db',
        'web-1   10.0.0.1:7946   alive   dc=eu,role=web',
        'web-22  10.0.0.22:7946  failed  role=web',
        '',
      ].join('\n'),
    )
    expect(all.stderr).toMatch(/^Members as of \d+s ago \(\d{4}-\d\d-\d\dT[\d:.]+Z\), from bridge "test-bridge"\n$/)

    const web = await cli(['members', '-status=alive', '-tag', 'role=we.'], { env: env() })
    expect(web.stdout).toBe('web-1  10.0.0.1:7946  alive  dc=eu,role=web\n')
    const asJson = JSON.parse((await cli(['members', '-format=json', '-name=db-.*'], { env: env() })).stdout)
    expect(asJson).toMatchObject({
      members: [{ name: 'db-1', addr: '[fd00::2]:7946', port: 7946, tags: { role: 'db' }, status: 'alive' }],
      bridgeId: 'test-bridge',
      ageMs: expect.any(Number),
    })
  })
})
