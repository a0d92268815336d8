/**
 * The RPC client's streamed commands against real agents: `query` (records on one sequence
 * number until `done`), `members`, and a `stream` of member events until `stop`, three agents
 * on loopback whose handler answers queries with the node's name.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ipText } from '../../agent-bridge/ip-text.ts'
import {
  SerfConnectionError,
  type SerfMember,
  type SerfMemberEvent,
  type SerfQueryParams,
  type SerfQueryRecord,
  SerfRemoteError,
  SerfRpcClient,
} from '../../agent-bridge/serf-rpc.ts'
import { FAILING_NODE, leave, ROLES, setTags, startExtraAgent, writeQueryHandler } from '../helpers/query-agents.ts'
import { type SerfCluster, startSerfCluster, stopAll, waitFor } from '../helpers/serf-agent.ts'

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const NODES = ['node-0', 'node-1', 'node-2']

let dir: string
let handler: string
let cluster: SerfCluster
let client: SerfRpcClient

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-rpc-query-'))
  handler = await writeQueryHandler(dir)
  cluster = await startSerfCluster({ dir: join(dir, 'main'), nodes: 3, eventHandlerScript: handler, logLevel: 'info' })
  await Promise.all(cluster.agents.map((agent) => setTags(agent, { role: ROLES[agent.name]! })))
  client = new SerfRpcClient({ address: cluster.agents[0]!.rpcAddr })
  await client.connect()
})

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    for (const agent of cluster.agents) console.error(`--- ${agent.name} log ---\n${agent.logs.slice(-8192)}`)
  })
})

afterAll(async () => {
  await client?.close()
  await stopAll()
  await rm(dir, { recursive: true, force: true })
})

/** Every record of a query, in the order the agent streamed them. */
async function runQuery(params: SerfQueryParams, rpc = client): Promise<SerfQueryRecord[]> {
  const records: SerfQueryRecord[] = []
  for await (const record of await rpc.query(params)) records.push(record)
  return records
}

const responders = (records: SerfQueryRecord[]) =>
  Object.fromEntries(records.filter((r) => r.type === 'response').map((r) => [r.from, text(r.payload)]))
const ackers = (records: SerfQueryRecord[]) =>
  records
    .filter((r) => r.type === 'ack')
    .map((r) => r.from)
    .sort()

describe('query', () => {
  it('streams an ack and a response from every node, then done, the last record', async () => {
    const records = await runQuery({ name: 'whoami', timeoutMs: 3_000 })
    expect(responders(records)).toEqual({ 'node-0': 'node-0', 'node-1': 'node-1', 'node-2': 'node-2' })
    expect(ackers(records)).toEqual(NODES)
    expect(records.at(-1)).toEqual({ type: 'done', from: '', payload: new Uint8Array() })
    expect(records.filter((r) => r.type === 'done')).toHaveLength(1)
  })

  it('hands the payload to the handlers byte for byte', async () => {
    // Serf appends a newline to a handler's stdin unless the payload ends in one.
    const payload = Uint8Array.from({ length: 200 }, (_, i) => (i === 199 ? 0x0a : (i * 13 + 1) % 256))
    const records = await runQuery({ name: 'echo', payload, timeoutMs: 3_000 })
    const responses = records.filter((r) => r.type === 'response')
    expect(responses.map((r) => r.from).sort()).toEqual(NODES)
    for (const response of responses) expect(Buffer.from(response.payload).equals(payload)).toBe(true)
  })

  it('a node filter lets only the named nodes answer', async () => {
    const records = await runQuery({ name: 'whoami', filterNodes: ['node-1'], timeoutMs: 2_000 })
    expect(responders(records)).toEqual({ 'node-1': 'node-1' })
    expect(ackers(records)).toEqual(['node-1'])
  })

  it('a tag filter (a regular expression) lets only matching nodes answer', async () => {
    const records = await runQuery({ name: 'whoami', filterTags: { role: 'web|db' }, timeoutMs: 2_000 })
    expect(responders(records)).toEqual({ 'node-0': 'node-0', 'node-1': 'node-1' })
  })

  it('without requestAck no node acks, and all still answer', async () => {
    const records = await runQuery({ name: 'whoami', requestAck: false, timeoutMs: 3_000 })
    expect(ackers(records)).toEqual([])
    expect(Object.keys(responders(records)).sort()).toEqual(NODES)
  })

  it('a node whose handler fails acks but does not answer', async () => {
    const records = await runQuery({ name: 'fragile', timeoutMs: 3_000 })
    expect(ackers(records)).toEqual(NODES)
    expect(Object.keys(responders(records)).sort()).toEqual(NODES.filter((n) => n !== FAILING_NODE))
  })

  it('the timeout ends the query with done, answers after it are dropped', async () => {
    const started = performance.now()
    const records = await runQuery({ name: 'slow', timeoutMs: 500 })
    const tookMs = performance.now() - started
    expect(records.map((r) => r.type).filter((t) => t !== 'ack')).toEqual(['done'])
    expect(tookMs).toBeGreaterThanOrEqual(450)
    expect(tookMs).toBeLessThan(1_900)
  })

  it('hands on no ack or response without a node, which the agent sends at a deadline', async () => {
    const perQuery = await Promise.all(Array.from({ length: 40 }, () => runQuery({ name: 'whoami', timeoutMs: 100 })))
    for (const records of perQuery) {
      expect(records.filter((r) => r.type !== 'done' && !NODES.includes(r.from))).toEqual([])
      expect(records.map((r) => r.type).filter((t) => t === 'done')).toEqual(['done'])
      expect(records.at(-1)?.type).toBe('done')
    }
  })

  it("refuses with Serf's text: the _serf_ prefix, a query over query_size_limit", async () => {
    const prefixed = client.query({ name: '_serf_ping', payload: new Uint8Array([1]) })
    await expect(prefixed).rejects.toThrow("Queries cannot contain the '_serf_' prefix")
    const big = await client.query({ name: 'whoami', payload: new Uint8Array(2_000) }).catch((e: unknown) => e)
    expect(big).toBeInstanceOf(SerfRemoteError)
    expect(big).toMatchObject({ command: 'query', message: 'query exceeds limit of 1024 bytes' })
    expect(await client.stats()).toMatchObject({ members: 3 })
  })

  it('runs queries side by side on one connection, each its own records, between other requests', async () => {
    const queries = NODES.map((node) => runQuery({ name: 'whoami', filterNodes: [node], timeoutMs: 2_000 }))
    const stats = Array.from({ length: 5 }, () => client.stats())
    const perQuery = await Promise.all(queries)
    perQuery.forEach((records, i) => {
      expect(responders(records)).toEqual({ [NODES[i]!]: NODES[i] })
      expect(records.at(-1)?.type).toBe('done')
    })
    for (const answer of await Promise.all(stats)) expect(answer.members).toBe(3)
  })

  it("ends a query's records with SerfConnectionError when the agent dies before done", async () => {
    const lone = await startSerfCluster({ dir: join(dir, 'lone'), nodes: 1, eventHandlerScript: handler })
    const rpc = new SerfRpcClient({ address: lone.agents[0]!.rpcAddr })
    await rpc.connect()
    const seen: SerfQueryRecord[] = []
    const reading = (async () => {
      for await (const record of await rpc.query({ name: 'whoami', timeoutMs: 60_000 })) seen.push(record)
    })()
    const ended = expect(reading).rejects.toBeInstanceOf(SerfConnectionError)
    await waitFor(() => seen.some((r) => r.type === 'response'), { what: 'the lone node to answer' })
    await lone.agents[0]!.kill()
    await ended
    expect(seen.map((r) => r.type)).toEqual(['ack', 'response'])
    await rpc.close()
  })
})

describe('members', () => {
  it('lists every node with its address as text, port, status and tags', async () => {
    const members = await client.members()
    const byName = Object.fromEntries(members.map((m) => [m.name, m]))
    expect(Object.keys(byName).sort()).toEqual(NODES)
    for (const agent of cluster.agents) {
      expect(byName[agent.name]).toEqual({
        name: agent.name,
        addr: '127.0.0.1',
        port: Number(agent.bindAddr.split(':')[1]),
        status: 'alive',
        tags: { role: ROLES[agent.name] },
      })
    }
  })
})

describe('member events', () => {
  it('streams join, update and leave until stop; the connection stays in step after it', async () => {
    const events: SerfMemberEvent[] = []
    const subscription = await client.memberEvents()
    const reading = (async () => {
      for await (const event of subscription) events.push(event)
    })()
    /** The first member of an `event` that `matches`, once streamed. */
    const seen = (event: string, matches: (member: SerfMember) => boolean) =>
      waitFor(() => events.flatMap((e) => (e.event === event ? e.members : [])).find(matches), {
        what: `a ${event} event`,
      })
    const extraAs = (status: string) => (m: SerfMember) => m.name === 'node-extra' && m.status === status

    const extra = await startExtraAgent(dir, 'node-extra', {
      handler,
      peer: cluster.agents[0]!,
      tags: { role: 'batch' },
    })
    expect(await seen('member-join', extraAs('alive'))).toMatchObject({ addr: '127.0.0.1', tags: { role: 'batch' } })
    await setTags(extra, { role: 'batch', rack: 'r7' })
    const updated = await seen('member-update', (m) => extraAs('alive')(m) && m.tags.rack === 'r7')
    expect(updated.tags).toEqual({ role: 'batch', rack: 'r7' })
    await leave(extra)
    await seen('member-leave', extraAs('left'))
    expect((await client.members()).find((m) => m.name === 'node-extra')?.status).toBe('left')

    await subscription.stop()
    await reading
    const count = events.length
    await setTags(cluster.agents[2]!, { role: ROLES['node-2']!, stopped: 'yes' })
    await waitFor(async () => (await client.members()).some((m) => m.tags.stopped === 'yes'), {
      what: 'the tag change to reach node-0',
    })
    expect(events).toHaveLength(count)
    expect(await client.stats()).toMatchObject({ nodeName: 'node-0' })
  })

  it('ends with the error that ended the connection (here close)', async () => {
    const rpc = new SerfRpcClient({ address: cluster.agents[1]!.rpcAddr })
    await rpc.connect()
    const subscription = await rpc.memberEvents()
    const reading = (async () => {
      for await (const _ of subscription);
    })()
    const ended = expect(reading).rejects.toMatchObject({ name: 'SerfClosedError' })
    await rpc.close()
    await ended
  })
})

describe('ipText', () => {
  it.each([
    [[127, 0, 0, 1], '127.0.0.1'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3], '10.1.2.3'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1], '2001:db8::1:0:0:1'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1], '2001:db8:1:0:1:1:1:1'],
  ])('%j is %s', (bytes, expected) => {
    expect(ipText(Uint8Array.from(bytes))).toBe(expected)
  })
})
