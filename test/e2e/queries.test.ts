/**
 * Queries and members end to end, real parts only: a signed query → edge in workerd (wrangler
 * dev) → agent-bridge process → Serf's `query` on a 3-node cluster on loopback whose handler
 * answers with the node's name (each node its own `role` tag) → records back at the edge,
 * read as the sender reads them; and the members the bridge reports.
 */
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { BridgeProcess } from '../helpers/bridge-process.ts'
import { pipeline } from '../helpers/pipeline.ts'
import {
  FAILING_NODE,
  leave,
  queryHandlerPath,
  ROLES,
  setTags,
  startExtraAgent,
  writeQueryHandler,
} from '../helpers/query-agents.ts'
import { QUERY_SENDER, type QuerySender, querySender, responsesByNode } from '../helpers/query-sender.ts'
import { waitFor } from '../helpers/serf-agent.ts'

const NODES = ['node-0', 'node-1', 'node-2']
const handlerDir = join(tmpdir(), `serf-edge-query-handler-${process.pid}`)

// Written before the pipeline starts its agents, which run it for every event.
beforeAll(() => writeQueryHandler(handlerDir))
afterAll(() => rm(handlerDir, { recursive: true, force: true }))

const p = pipeline({
  nodes: 3,
  clusters: { main: { bridgeLeaseTtl: '3s' } },
  senders: { ci: QUERY_SENDER },
  serf: { eventHandlerScript: queryHandlerPath(handlerDir) },
})

let sender: QuerySender

beforeAll(async () => {
  await Promise.all(p.serf.agents.map((agent) => setTags(agent, { role: ROLES[agent.name]! })))
  sender = await querySender(p.edge, 'main')
})

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`--- edge log ---\n${p.edge.log.slice(-6000)}`))
})

/** The query's status once settled. */
async function ask(query: Parameters<QuerySender['ask']>[0]) {
  return sender.settled(await sender.ask(query))
}

/**
 * Long enough that every node's handler answers in time on a loaded machine: a handler runs in
 * its agent's event loop after whatever is queued there, and an answer after the deadline is
 * dropped by Serf (a CI run under load lost one at 2.5 s).
 */
const QUERY_TIMEOUT_MS = 5_000

describe('a query through the bridge', () => {
  let bridge: BridgeProcess
  beforeAll(async () => {
    bridge = p.startBridge('main', { bridgeId: 'queries' })
    await bridge.waitForLog(/lease acquired/)
  })
  afterAll(() => bridge.stop())
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.error(`--- bridge log ---\n${bridge.output.slice(-12_000)}`))
  })

  it('every node answers with its own name and acks; the query ends done', async () => {
    const status = await ask({ name: 'whoami', timeoutMs: QUERY_TIMEOUT_MS })
    expect(status).toMatchObject({ state: 'done', requestAck: true, totals: { acks: 3, responses: 3 } })
    expect(responsesByNode(status)).toEqual({ 'node-0': 'node-0', 'node-1': 'node-1', 'node-2': 'node-2' })
    expect(status.acks.map((a) => a.node).sort()).toEqual(NODES)
  })

  it('a node filter lets only the named node answer', async () => {
    const status = await ask({ name: 'whoami', nodes: ['node-2'], timeoutMs: QUERY_TIMEOUT_MS })
    expect(status.state).toBe('done')
    expect(responsesByNode(status)).toEqual({ 'node-2': 'node-2' })
  })

  it('a tag filter lets only nodes whose tag matches answer', async () => {
    const status = await ask({ name: 'whoami', tags: { role: 'db|cache' }, timeoutMs: QUERY_TIMEOUT_MS })
    expect(status.state).toBe('done')
    expect(responsesByNode(status)).toEqual({ 'node-1': 'node-1', 'node-2': 'node-2' })
  })

  it('without acks (serf query -no-ack) every node still answers, and none acks', async () => {
    const status = await ask({ name: 'whoami', requestAck: false, timeoutMs: QUERY_TIMEOUT_MS })
    expect(status).toMatchObject({ state: 'done', requestAck: false, acks: [], totals: { acks: 0, responses: 3 } })
  })

  it('a node whose handler fails does not answer', async () => {
    const status = await ask({ name: 'fragile', timeoutMs: QUERY_TIMEOUT_MS })
    expect(status.state).toBe('done')
    expect(Object.keys(responsesByNode(status)).sort()).toEqual(NODES.filter((node) => node !== FAILING_NODE))
  })

  it('the timeout ends the query with done; answers later than it are not relayed', async () => {
    const status = await ask({ name: 'slow', timeoutMs: 800 })
    expect(status).toMatchObject({ state: 'done', responses: [] })
    const tookMs = Date.parse(status.finishedAt!) - Date.parse(status.startedAt!)
    expect(tookMs).toBeGreaterThanOrEqual(700)
    expect(tookMs).toBeLessThan(2_000)
  })

  it('counts the queries run and the records relayed in /metrics', async () => {
    const scrape = async () => {
      const text = await (await fetch(`${await bridge.metricsUrl()}/metrics`)).text()
      return (name: string, label: string) =>
        Number(new RegExp(`^serf_edge_bridge_${name}\\{${label}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)
    }
    const before = await scrape()
    await ask({ name: 'whoami', timeoutMs: 1_500 })
    const after = await scrape()
    const grew = (name: string, label: string) => after(name, label) - before(name, label)
    expect(grew('queries_total', 'outcome="done"')).toBe(1)
    expect(grew('query_records_relayed_total', 'type="ack"')).toBe(3)
    expect(grew('query_records_relayed_total', 'type="response"')).toBe(3)
    expect(grew('query_records_relayed_total', 'type="done"')).toBe(1)
  })
})

describe('members', () => {
  const statusOf = async (name: string) => (await sender.members()).members.find((m) => m.name === name)?.status

  // The agent holds member events back 1 to 3 s to coalesce them (agent/command.go), and a leave
  // can also wait for a failed probe; the bound leaves room for both on a loaded machine.
  it('a node that leaves shows left within 10 s', async ({ onTestFailed }) => {
    const bridge = p.startBridge('main', { bridgeId: 'members' })
    onTestFailed(() => {
      console.error(`--- bridge log ---\n${bridge.output.slice(-8_000)}`)
      const agentLines = p.serf.agents.map((a) =>
        a.logs
          .split('\n')
          .filter((l) => l.includes('node-extra'))
          .join('\n'),
      )
      console.error(`--- node-extra in the agents' logs ---\n${agentLines.join('\n')}`)
    })
    await bridge.waitForLog(/members reported/)
    expect((await sender.members()).members.map((m) => `${m.name}:${m.status}:${m.tags.role}`).sort()).toEqual([
      'node-0:alive:web',
      'node-1:alive:db',
      'node-2:alive:cache',
    ])
    const extra = await startExtraAgent(p.dir, 'node-extra', {
      handler: queryHandlerPath(handlerDir),
      // Joined through the bridge's own agent, which so learns of it at once, not by gossip.
      peer: p.serf.agents[0]!,
    })
    await waitFor(async () => (await statusOf('node-extra')) === 'alive', {
      timeoutMs: 10_000,
      what: 'node-extra alive',
    })
    await leave(extra)
    await waitFor(async () => (await statusOf('node-extra')) === 'left', { timeoutMs: 10_000, what: 'node-extra left' })
  })

  it('a restarted bridge reports the members again at once, with what changed while none ran', async () => {
    const first = p.startBridge('main', { bridgeId: 'members-before' })
    await first.waitForLog(/members reported/)
    const before = await sender.members()
    expect(await first.stop()).toBe(0)
    // Changed while no bridge runs: only the report at start can tell the edge.
    await setTags(p.serf.agents[2]!, { role: ROLES['node-2']!, rack: 'r9' })
    const second = p.startBridge('main', { bridgeId: 'members-after' })
    await second.waitForLog(/lease acquired/)
    const after = await waitFor(
      async () => {
        const snapshot = await sender.members()
        return snapshot.bridgeId === 'members-after' && snapshot
      },
      { timeoutMs: 10_000, what: 'the restarted bridge to report' },
    )
    expect(Date.parse(after.asOf)).toBeGreaterThan(Date.parse(before.asOf))
    expect(after.ageMs).toBeLessThan(10_000)
    expect(after.members.find((m) => m.name === 'node-2')?.tags).toEqual({ role: 'cache', rack: 'r9' })
  })
})

describe('a bridge killed mid-query', () => {
  it('leaves the query failed, not hanging, with the answers relayed before the kill', async () => {
    const bridge = p.startBridge('main', { bridgeId: 'doomed' })
    await bridge.waitForLog(/lease acquired/)
    const id = await sender.ask({ name: 'whoami', timeoutMs: 5_000 })
    await waitFor(async () => (await sender.status(id)).totals.responses === 3, {
      timeoutMs: 4_000,
      what: 'all three answers relayed',
    })
    await bridge.kill()
    const status = await sender.settled(id, 30_000)
    expect(status.state).toBe('failed')
    expect(status.error).toMatch(/did not report the end of the query|lost the cluster's lease/)
    expect(Object.keys(responsesByNode(status)).sort()).toEqual(NODES)
  })
})
