/**
 * The bridge's side of its Serf agent, in this process, against two real agents whose
 * `user_event_size_limit` is small: emitting, Serf's refusal as an outcome with its own text,
 * waiting for the broadcast queue to drain, and the `stats` the pacer reads.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AgentLink } from '../../agent-bridge/agent-link.ts'
import { BridgeMetrics } from '../../agent-bridge/metrics.ts'
import { SerfRpcClient } from '../../agent-bridge/serf-rpc.ts'
import { fromUtf8, toBase64, utf8 } from '../../protocol/bytes.ts'
import type { QueuedEvent } from '../../protocol/wire.ts'
import { type SerfCluster, startSerfCluster, stopAll, waitFor } from '../helpers/serf-agent.ts'

const SIZE_LIMIT = 128

let dir: string
let serf: SerfCluster
let link: AgentLink
let metrics: BridgeMetrics
const lines: Array<Record<string, unknown>> = []
const stop = new AbortController()
let sequence = 0

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-agent-link-'))
  serf = await startSerfCluster({ dir, nodes: 2, logLevel: 'info', userEventSizeLimit: SIZE_LIMIT })
  metrics = new BridgeMetrics({ processMetrics: false })
  const logger = pino({ base: undefined, timestamp: false }, { write: (line: string) => lines.push(JSON.parse(line)) })
  link = new AgentLink(new SerfRpcClient({ address: serf.agents[0]!.rpcAddr }), logger, metrics, stop.signal)
  await link.connect()
})

afterAll(async () => {
  stop.abort()
  await link?.close()
  await stopAll()
  await rm(dir, { recursive: true, force: true })
})

/** An event as the edge hands it over. */
function queued(name: string, payload: string): QueuedEvent {
  return {
    sequence: ++sequence,
    id: `evt_${sequence}`,
    name,
    payloadBase64: toBase64(utf8(payload)),
    coalesce: false,
    enqueuedAt: new Date().toISOString(),
  }
}

/** Per node, the payloads of the events named `name`, once every node has `count` of them. */
function everywhere(name: string, count: number) {
  return waitFor(
    async () => {
      const perNode = await Promise.all(
        serf.agents.map(async (a) =>
          (await a.readEvents()).filter((e) => e.name === name).map((e) => fromUtf8(e.payload)),
        ),
      )
      return perNode.every((payloads) => payloads.length >= count) && perNode
    },
    { timeoutMs: 30_000, what: `${count} "${name}" events on every node` },
  )
}

const counter = async (c: { get(): Promise<{ values: { value: number }[] }> }) => (await c.get()).values[0]?.value ?? 0

it('connects and says to which node', () => {
  expect(link.connected).toBe(true)
  expect(lines).toContainEqual(
    expect.objectContaining({ msg: 'connected to the Serf agent', node: 'node-0', members: 2 }),
  )
})

describe('emit', () => {
  it('an event Serf accepts comes back as a plain outcome and reaches every node', async () => {
    const event = queued('link-ok', 'hello')
    expect(await link.emit(event)).toEqual({ sequence: event.sequence })
    expect(await everywhere('link-ok', 1)).toEqual([['hello'], ['hello']])
    expect(await counter(metrics.emitted)).toBe(1)
  })

  it("an event over the agent's size limit comes back as an outcome with Serf's own text", async () => {
    const event = queued('link-big', 'x'.repeat(SIZE_LIMIT))
    const outcome = await link.emit(event)
    expect(outcome).toEqual({
      sequence: event.sequence,
      error: `user event exceeds configured limit of ${SIZE_LIMIT} bytes before encoding`,
    })
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'Serf refused an event',
        sequence: event.sequence,
        id: event.id,
        name: 'link-big',
        serfError: 'error' in outcome ? outcome.error : undefined,
      }),
    )
    expect(await counter(metrics.rejected)).toBe(1)
    // The event after it goes through; the refused one never reached any node.
    await link.emit(queued('link-after', 'next'))
    await everywhere('link-after', 1)
    for (const agent of serf.agents) {
      expect((await agent.readEvents()).some((e) => e.name === 'link-big')).toBe(false)
    }
  })
})

describe('drain and sample', () => {
  it("waits until the agent's broadcast queue is empty", async () => {
    const burst = Array.from({ length: 40 }, (_, i) => queued('link-burst', String(i)))
    const outcomes = await Promise.all(burst.map((event) => link.emit(event)))
    expect(outcomes.every((o) => !('error' in o) && !('lost' in o))).toBe(true)
    expect(await link.drain(false)).toBe(true)
    expect((await link.sample()).eventQueue).toBe(0)
    const perNode = await everywhere('link-burst', 40)
    for (const payloads of perNode) expect(new Set(payloads).size).toBe(40)
  })

  it("reads the pacer's view of the agent from its stats", async () => {
    expect(await link.sample()).toEqual({ eventQueue: 0, members: 2, failed: 0, left: 0, encrypted: false })
  })
})
