/**
 * Queries and the members report in this process: a `Bridge` (and a `MembersReporter` on its
 * own) with a real edge client against the edge in workerd (`wrangler dev`) and a real RPC client
 * against three real agents whose handler answers queries with the node's name, its logger and
 * metrics in hand.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Bridge } from '../../agent-bridge/bridge.ts'
import { CursorStore } from '../../agent-bridge/cursor-store.ts'
import { EdgeClient } from '../../agent-bridge/edge-client.ts'
import { MembersReporter } from '../../agent-bridge/members-reporter.ts'
import { BridgeMetrics } from '../../agent-bridge/metrics.ts'
import { SerfRpcClient } from '../../agent-bridge/serf-rpc.ts'
import { getEventStatus } from '../../client/sdk.ts'
import { importSignKey } from '../../protocol/signature.ts'
import { type LocalEdge, startEdge, stopAllEdges } from '../helpers/edge.ts'
import { fireBurst } from '../helpers/fire.ts'
import { leave, ROLES, setTags, startExtraAgent, writeQueryHandler } from '../helpers/query-agents.ts'
import { QUERY_SENDER, type QuerySender, querySender, responsesByNode } from '../helpers/query-sender.ts'
import { type SerfCluster, startSerfCluster, stopAll, waitFor } from '../helpers/serf-agent.ts'

const CLUSTER = 'asks'
/** A cluster the edge thinks takes larger queries than its agents do (a misconfiguration). */
const OVERSIZE = 'asks-oversize'
const NODES = ['node-0', 'node-1', 'node-2']

let dir: string
let handler: string
let edge: LocalEdge
let serf: SerfCluster
let sender: QuerySender

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-queries-'))
  handler = await writeQueryHandler(dir)
  serf = await startSerfCluster({ dir: join(dir, 'serf'), nodes: 3, eventHandlerScript: handler, logLevel: 'info' })
  await Promise.all(serf.agents.map((agent) => setTags(agent, { role: ROLES[agent.name]! })))
  const clusters = { [CLUSTER]: { bridgeLeaseTtl: '20s' }, [OVERSIZE]: { bridgeLeaseTtl: '20s', querySizeLimit: 1395 } }
  edge = await startEdge({ dir: join(dir, 'edge'), clusters, senders: { ci: QUERY_SENDER } })
  sender = await querySender(edge, CLUSTER)
})

type LogLine = { msg: string; level: number; [field: string]: unknown }

/** What a test started, stopped after it whatever happened. */
const started: { stop(): Promise<void> }[] = []

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`--- edge log ---\n${edge.log.slice(-8192)}`))
})

afterEach(async () => {
  await Promise.all(started.splice(0).map((part) => part.stop()))
})

afterAll(async () => {
  await stopAllEdges()
  await stopAll()
  await rm(dir, { recursive: true, force: true })
})

const keys = async (cluster = CLUSTER) => [await importSignKey(edge.bridgeKeys[cluster]!)]

/** A logger keeping its lines as objects. */
function logCapture() {
  const lines: LogLine[] = []
  const logger = pino({ base: undefined, level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  const waitForLog = (msg: string, timeoutMs = 15_000) =>
    waitFor(() => lines.find((l) => l.msg === msg), { timeoutMs, what: `the log line "${msg}"` })
  return { lines, logger, waitForLog }
}

/** A `Bridge` running in this process into node-0. */
async function startInProcess(bridgeId: string, cluster = CLUSTER) {
  const log = logCapture()
  const metrics = new BridgeMetrics({ processMetrics: false })
  const bridge = new Bridge({
    bridgeId,
    edge: new EdgeClient({ edgeUrl: edge.url, cluster, keys: await keys(cluster) }),
    serf: new SerfRpcClient({ address: serf.agents[0]!.rpcAddr }),
    cursor: new CursorStore(join(dir, `${bridgeId}.cursor.json`), cluster),
    logger: log.logger,
    metrics,
    pollWaitMs: 5_000,
    pacing: { profile: serf.profile },
  })
  const running = bridge.run()
  const handle = {
    ...log,
    metrics,
    async stop() {
      bridge.stop()
      await running
    },
  }
  started.push(handle)
  await log.waitForLog('lease acquired: this bridge is active')
  return handle
}

/** One labelled sample of a metric, 0 while it has none. */
async function sample(metric: { get(): Promise<{ values: { value: number; labels: object }[] }> }, labels: object) {
  const { values } = await metric.get()
  return values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))?.value ?? 0
}

describe('queries through the bridge', () => {
  it('relays an ack and a response from every node, then done; counted and logged', async () => {
    const bridge = await startInProcess('asks-a')
    const id = await sender.ask({ name: 'whoami', timeoutMs: 2_000 })
    const status = await sender.settled(id)
    expect(status).toMatchObject({ state: 'done', totals: { acks: 3, responses: 3 } })
    expect(responsesByNode(status)).toEqual({ 'node-0': 'node-0', 'node-1': 'node-1', 'node-2': 'node-2' })

    expect(await sample(bridge.metrics.queries, { outcome: 'done' })).toBe(1)
    expect(await sample(bridge.metrics.queryRecords, { type: 'ack' })).toBe(3)
    expect(await sample(bridge.metrics.queryRecords, { type: 'response' })).toBe(3)
    expect(await sample(bridge.metrics.queryRecords, { type: 'done' })).toBe(1)
    expect(await sample(bridge.metrics.queriesRunning, {})).toBe(0)
    const started = bridge.lines.find((l) => l.msg === 'query started')
    expect(started).toMatchObject({ queryId: id, query: 'whoami', timeoutMs: 2_000, requestAck: true })
    expect(bridge.lines.find((l) => l.msg === 'query done')).toMatchObject({ queryId: id })
    expect(bridge.lines.filter((l) => l.level >= 40)).toEqual([])
  })

  it('a query the agent refuses fails at once with Serf’s own text, not at its deadline', async () => {
    const bridge = await startInProcess('oversize-a', OVERSIZE)
    const oversize = await querySender(edge, OVERSIZE)
    // Accepted under the edge's 1395-byte limit, refused by the agents' default of 1024.
    const id = await oversize.ask({ name: 'whoami', payload: 'x'.repeat(1100), timeoutMs: 60_000 })
    const status = await oversize.settled(id, 15_000)
    expect(status.state).toBe('failed')
    expect(status.error).toMatch(/Serf refused the query: query exceeds limit of 1024 bytes/)
    await waitFor(async () => (await sample(bridge.metrics.queries, { outcome: 'refused' })) === 1, {
      what: 'the refused query counted',
    })
  })

  it('runs queries side by side, and events are delivered while they run', async () => {
    await startInProcess('asks-b')
    const ids = await Promise.all(NODES.map((node) => sender.ask({ name: 'whoami', nodes: [node], timeoutMs: 4_000 })))
    const [event] = await fireBurst(edge, CLUSTER, 1, () => ({ name: 'during-queries', coalesce: false }))
    const delivered = await waitFor(
      async () => {
        const answer = await getEventStatus({
          edgeUrl: edge.url,
          cluster: CLUSTER,
          sender: 'ci',
          key: edge.senderKeys.ci!,
          id: event!.id,
        })
        return answer.status === 'delivered' && answer
      },
      { what: 'the event to be delivered' },
    )
    const statuses = await Promise.all(ids.map((id) => sender.settled(id)))
    statuses.forEach((status, i) => {
      expect(status.state).toBe('done')
      expect(responsesByNode(status)).toEqual({ [NODES[i]!]: NODES[i] })
    })
    const firstDone = Math.min(...statuses.map((s) => Date.parse(s.finishedAt!)))
    expect(Date.parse(delivered.settledAt!)).toBeLessThan(firstDone)
  })

  it('stop lets a running query reach done and relay it before the lease is released', async () => {
    const bridge = await startInProcess('asks-c')
    const id = await sender.ask({ name: 'whoami', timeoutMs: 2_500 })
    await bridge.waitForLog('query started')
    await bridge.stop()
    const status = await sender.status(id)
    expect(status).toMatchObject({ state: 'done', totals: { responses: 3 } })
    const messages = bridge.lines.map((l) => l.msg)
    expect(messages.indexOf('query done')).toBeGreaterThan(messages.indexOf('bridge stopping'))
    expect(messages.indexOf('query done')).toBeLessThan(messages.indexOf('lease released'))
  })
})

describe('members report', () => {
  it('the active bridge reports every member with address, status and tags when it starts', async () => {
    const bridge = await startInProcess('asks-d')
    await bridge.waitForLog('members reported')
    const snapshot = await sender.members()
    expect(snapshot).toMatchObject({ cluster: CLUSTER, bridgeId: 'asks-d' })
    expect(snapshot.ageMs).toBeLessThan(10_000)
    expect(snapshot.members.map((m) => m.name).sort()).toEqual(NODES)
    for (const member of snapshot.members) {
      expect(member).toMatchObject({ addr: '127.0.0.1', status: 'alive', tags: { role: ROLES[member.name] } })
    }
  })

  /** A reporter on its own into node-1, under a lease this test takes with an events poll. */
  async function startReporter(bridgeId: string, intervalMs: number) {
    const client = new EdgeClient({ edgeUrl: edge.url, cluster: CLUSTER, keys: await keys() })
    const { lease } = await client.poll({ bridgeId, after: 0, limit: 1, waitMs: 0 })
    const rpc = new SerfRpcClient({ address: serf.agents[1]!.rpcAddr })
    await rpc.connect()
    const log = logCapture()
    const reporter = new MembersReporter({
      bridgeId,
      edge: client,
      serf: rpc,
      leaseToken: () => lease.token,
      reconnect: () => rpc.connect(),
      logger: log.logger,
      metrics: new BridgeMetrics({ processMetrics: false }),
      intervalMs,
    })
    reporter.start()
    started.push({
      stop: async () => {
        await reporter.stop()
        await rpc.close()
        await client.release(bridgeId, lease.token)
      },
    })
    return waitFor(
      async () => {
        const snapshot = await sender.members()
        return snapshot.bridgeId === bridgeId && { log, first: snapshot }
      },
      { what: `${bridgeId}'s first report` },
    )
  }

  it('reports again at least every interval, with no member event', async () => {
    const { first, log } = await startReporter('asks-e', 1_500)
    const next = await waitFor(async () => {
      const snapshot = await sender.members()
      return snapshot.asOf > first.asOf && snapshot
    })
    expect(Date.parse(next.asOf) - Date.parse(first.asOf)).toBeGreaterThanOrEqual(1_400)
    expect(log.lines.filter((l) => l.msg === 'member event')).toEqual([])
  })

  // Within seconds: the agent holds member events back 1 to 3 s to coalesce them, far less than
  // the interval of 60 s, so only the member events can explain the reports.
  it('reports a member that joins, and then leaves, within seconds (far within the interval)', async () => {
    const { log } = await startReporter('asks-f', 60_000)
    const status = async (name: string) => (await sender.members()).members.find((m) => m.name === name)?.status
    // Joined through the reporter's own agent, which so learns of it at once, not by gossip.
    const extra = await startExtraAgent(dir, 'node-extra', { handler, peer: serf.agents[1]!, tags: { role: 'batch' } })
    await waitFor(async () => (await status('node-extra')) === 'alive', { timeoutMs: 10_000, what: 'node-extra alive' })
    expect(log.lines.some((l) => l.msg === 'member event' && l.event === 'member-join')).toBe(true)
    await leave(extra)
    await waitFor(async () => (await status('node-extra')) === 'left', { timeoutMs: 10_000, what: 'node-extra left' })
  })
})
