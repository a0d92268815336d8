/**
 * The delivery loop in this process: a `Bridge` with a real edge client against the edge in
 * workerd (`wrangler dev`) and a real Serf RPC client against three real agents, its logger and
 * metrics in hand. What it promises: every event on every node in queue order, settled at the
 * edge, the cursor on disk, the lease handed on at stop.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Bridge } from '../../agent-bridge/bridge.ts'
import { CursorStore } from '../../agent-bridge/cursor-store.ts'
import { EdgeClient } from '../../agent-bridge/edge-client.ts'
import { BridgeMetrics } from '../../agent-bridge/metrics.ts'
import { SerfRpcClient } from '../../agent-bridge/serf-rpc.ts'
import { getEventStatus } from '../../client/sdk.ts'
import { fromUtf8 } from '../../protocol/bytes.ts'
import { importSignKey } from '../../protocol/signature.ts'
import { type LocalEdge, startEdge, stopAllEdges } from '../helpers/edge.ts'
import { fireBurst, lamportFollowsQueue } from '../helpers/fire.ts'
import { type SerfCluster, startSerfCluster, stopAll, waitFor } from '../helpers/serf-agent.ts'

const CLUSTER = 'loop'

let dir: string
let edge: LocalEdge
let serf: SerfCluster

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-loop-'))
  serf = await startSerfCluster({ dir: join(dir, 'serf'), nodes: 3, logLevel: 'info' })
  edge = await startEdge({ dir: join(dir, 'edge'), clusters: { [CLUSTER]: { bridgeLeaseTtl: '20s' } } })
})

/** Bridges a test started, stopped after it whatever happened. */
const started: InProcessBridge[] = []

afterEach(async () => {
  await Promise.all(started.splice(0).map((b) => b.stop()))
})

afterAll(async () => {
  await stopAllEdges()
  await stopAll()
  await rm(dir, { recursive: true, force: true })
})

type LogLine = { msg: string; level: number; [field: string]: unknown }

interface InProcessBridge {
  lines: LogLine[]
  metrics: BridgeMetrics
  cursor: CursorStore
  messages(): string[]
  waitForLog(msg: string, timeoutMs?: number): Promise<LogLine>
  /** `stop()`, then wait until `run()` settled. */
  stop(): Promise<void>
}

/** A `Bridge` running in this process, its log lines kept as objects. */
async function startInProcess(bridgeId: string): Promise<InProcessBridge> {
  const lines: LogLine[] = []
  const logger = pino({ base: undefined }, { write: (line: string) => lines.push(JSON.parse(line)) })
  const metrics = new BridgeMetrics({ processMetrics: false })
  const cursor = new CursorStore(join(dir, `${bridgeId}.cursor.json`), CLUSTER)
  const keys = [await importSignKey(edge.bridgeKeys[CLUSTER]!)]
  const bridge = new Bridge({
    bridgeId,
    edge: new EdgeClient({ edgeUrl: edge.url, cluster: CLUSTER, keys }),
    serf: new SerfRpcClient({ address: serf.agents[0]!.rpcAddr }),
    cursor,
    logger,
    metrics,
    pollWaitMs: 5_000,
    pacing: { profile: serf.profile },
  })
  const running = bridge.run()
  const handle: InProcessBridge = {
    lines,
    metrics,
    cursor,
    messages: () => lines.map((l) => l.msg),
    waitForLog: (msg: string, timeoutMs = 15_000) =>
      waitFor(() => lines.find((l) => l.msg === msg), { timeoutMs, what: `${bridgeId} to log "${msg}"` }),
    async stop() {
      bridge.stop()
      await running
    },
  }
  started.push(handle)
  return handle
}

const counter = async (c: { get(): Promise<{ values: { value: number }[] }> }) => (await c.get()).values[0]?.value ?? 0

/** Per node, the events named `name`, once every node has every payload index below `count`. */
function everyIndexEverywhere(name: string, count: number) {
  return waitFor(
    async () => {
      const perNode = await Promise.all(
        serf.agents.map(async (a) => (await a.readEvents()).filter((e) => e.name === name)),
      )
      const complete = perNode.every((events) => new Set(events.map((e) => fromUtf8(e.payload))).size >= count)
      return complete && perNode
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `all ${count} "${name}" events on every node` },
  )
}

describe('a burst through the loop', () => {
  it('reaches every node once, in queue order; the edge settles it; the cursor holds the last sequence', async () => {
    const active = await startInProcess('loop-a')
    await active.waitForLog('lease acquired: this bridge is active')
    // The pace and why, from the agents' profile and their members, before the first event.
    expect(active.lines.find((l) => l.msg.startsWith('pace '))).toMatchObject({
      msg:
        'pace 32.4/s: local profile, 3 members, push/pull every 15 s, 512-event buffer (95 % of 34.1/s); ' +
        'events over 346 bytes encoded go slower, as gossip carries fewer of them',
      rate: 32.43,
      members: 3,
    })
    const count = 40
    const answers = await fireBurst(
      edge,
      CLUSTER,
      count,
      (i) => ({ name: 'loop', payload: String(i), coalesce: false }),
      4,
    )
    const sequences = answers.map((a) => a.sequence)
    const last = Math.max(...sequences)

    const perNode = await everyIndexEverywhere('loop', count)
    for (const events of perNode) {
      expect(events).toHaveLength(count)
      expect(lamportFollowsQueue(events, sequences)).toBe(true)
    }

    await waitFor(async () => (await counter(active.metrics.acked)) === count, { what: 'the edge to settle the burst' })
    const sender = Object.keys(edge.senderKeys)[0]!
    const statuses = await Promise.all(
      answers.map(({ id }) =>
        getEventStatus({ edgeUrl: edge.url, cluster: CLUSTER, sender, key: edge.senderKeys[sender]!, id }),
      ),
    )
    expect(statuses.map((s) => s.status)).toEqual(Array(count).fill('delivered'))
    expect(await counter(active.metrics.emitted)).toBe(count)
    expect(await counter(active.metrics.rejected)).toBe(0)

    const batches = active.lines.filter((l) => l.msg === 'batch emitted into Serf')
    expect(batches.reduce((n, l) => n + Number(l.emitted), 0)).toBe(count)
    expect(batches.every((l) => l.rejected === 0)).toBe(true)
    expect(batches.at(-1)!.through).toBe(last)
    expect(JSON.parse(await readFile(active.cursor.path, 'utf8'))).toEqual({
      cluster: CLUSTER,
      cursor: last,
      pendingAck: null,
    })
    expect(active.lines.filter((l) => l.level >= 40)).toEqual([])
  })
})

describe('stop', () => {
  it('releases the lease: a second bridge becomes active at once and delivers', async () => {
    const first = await startInProcess('loop-first')
    await first.waitForLog('lease acquired: this bridge is active')
    await first.stop()
    expect(first.messages().slice(-3)).toEqual(['bridge stopping', 'lease released', 'bridge stopped'])

    // A lease left to lapse would hold the second bridge on standby for the 20 s TTL.
    const second = await startInProcess('loop-second')
    await second.waitForLog('lease acquired: this bridge is active', 5_000)
    expect(second.messages()).not.toContain('standby: another bridge holds the lease')

    const [answer] = await fireBurst(edge, CLUSTER, 1, () => ({ name: 'handed-on', payload: '0', coalesce: false }))
    const perNode = await everyIndexEverywhere('handed-on', 1)
    for (const events of perNode) expect(events).toHaveLength(1)
    await second.stop()
    expect(JSON.parse(await readFile(second.cursor.path, 'utf8')).cursor).toBe(answer!.sequence)
  })
})
