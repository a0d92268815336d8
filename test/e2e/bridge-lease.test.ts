/**
 * The lease is a fence. A bridge paused (SIGSTOP, as a frozen VM or a stuck host would be)
 * mid-batch for longer than its lease, and resumed after a standby took over and sent the
 * batch, must emit nothing more of it. Real edge in workerd, three real Serf agents, two real
 * agent-bridge processes.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fromUtf8 } from '../../protocol/bytes.ts'
import { type BridgeProcess, startBridge, stopAllBridges } from '../helpers/bridge-process.ts'
import { type LocalEdge, startEdge, stopAllEdges } from '../helpers/edge.ts'
import { fireBurst, lamportFollowsQueue } from '../helpers/fire.ts'
import { type SerfCluster, startSerfCluster, stopAll, waitFor } from '../helpers/serf-agent.ts'

const CLUSTER = 'fenced'

let dir: string
let edge: LocalEdge
let serf: SerfCluster
/** Bridges this file stopped with SIGSTOP and has not resumed yet. */
const paused = new Set<number>()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-lease-'))
  serf = await startSerfCluster({ dir: join(dir, 'serf'), nodes: 3, logLevel: 'info' })
  edge = await startEdge({ dir: join(dir, 'edge'), clusters: { [CLUSTER]: { bridgeLeaseTtl: '6s' } } })
})

afterEach(async () => {
  // A stopped process cannot act on SIGTERM: resume it first, whatever the test left behind.
  for (const pid of paused) resume(pid)
  await stopAllBridges()
})

afterAll(async () => {
  await stopAllEdges()
  await stopAll()
  await rm(dir, { recursive: true, force: true })
})

function pause(bridge: BridgeProcess): void {
  process.kill(bridge.pid, 'SIGSTOP')
  paused.add(bridge.pid)
}

function resume(pid: number): void {
  paused.delete(pid)
  try {
    process.kill(pid, 'SIGCONT')
  } catch {
    // already gone
  }
}

function start(bridgeId: string, maxRate: number): BridgeProcess {
  return startBridge({
    edgeUrl: edge.url,
    cluster: CLUSTER,
    bridgeKey: edge.bridgeKeys[CLUSTER]!,
    rpcAddr: serf.agents[0]!.rpcAddr,
    cursorFile: join(dir, `${bridgeId}.cursor.json`),
    bridgeId,
    extraArgs: [`-max-rate=${maxRate}`, '-batch-size=200'],
  })
}

/** An unlabelled counter of the bridge's `/metrics`. */
async function metric(bridge: BridgeProcess, name: string): Promise<number> {
  const line = await bridge.waitForLog(/serving \/metrics/)
  const text = await (await fetch(`http://${String(line.metrics)}/metrics`)).text()
  const sample = text.split('\n').find((l) => l.startsWith(`serf_edge_bridge_${name} `))
  return Number(sample?.split(' ')[1] ?? Number.NaN)
}

const messages = (bridge: BridgeProcess, msg: string) => bridge.logs.filter((l) => l.msg === msg)

describe('a bridge paused longer than its lease, mid-batch', () => {
  it('emits nothing more of its stale batch once resumed; duplicates stay within what it had in flight', async () => {
    const count = 150
    const answers = await fireBurst(edge, CLUSTER, count, (i) => ({
      name: 'fenced',
      payload: String(i),
      coalesce: false,
    }))
    const sequences = answers.map((a) => a.sequence)

    // At 10 events/s the one batch of 150 takes 15 s, more than twice the 6 s lease.
    const stale = start('stale', 10)
    await stale.waitForLog(/lease acquired/)
    const standby = start('standby', 25)
    await standby.waitForLog(/standby: another bridge holds the lease/)
    const emittedAtPause = await waitFor(
      async () => {
        const emitted = await metric(stale, 'events_emitted_total')
        return emitted >= 30 && emitted
      },
      { timeoutMs: 30_000, intervalMs: 20, what: 'the first bridge to be well into its batch' },
    )
    pause(stale)

    // The standby takes the lapsed lease and sends everything not acknowledged.
    await standby.waitForLog(/lease acquired/, 30_000)
    await waitFor(
      async () => {
        const perNode = await Promise.all(serf.agents.map((a) => a.readEvents()))
        return perNode.every(
          (events) => new Set(events.filter((e) => e.name === 'fenced').map((e) => fromUtf8(e.payload))).size === count,
        )
      },
      { timeoutMs: 90_000, intervalMs: 250, what: `all ${count} events on every node` },
    )
    const resumedAt = Date.now()
    resume(stale.pid)

    // Resumed, it sees the lease lapsed before its next event, stops, and stands by.
    const lapse = await waitFor(
      () =>
        messages(stale, 'lease lapsed mid-batch; stopped emitting until the edge confirms it').find(
          (l) => Number(l.time) >= resumedAt,
        ),
      { timeoutMs: 30_000, what: 'the resumed bridge to log the lapse' },
    )
    expect(Number(lapse.left)).toBeGreaterThan(count / 2)
    await waitFor(
      () => messages(stale, 'standby: another bridge holds the lease').some((l) => Number(l.time) >= resumedAt),
      { timeoutMs: 30_000, what: 'the resumed bridge to stand by' },
    )
    // At most one answer, to an event sent just before the pause, was still on its way.
    const emitted = await metric(stale, 'events_emitted_total')
    expect(emitted - emittedAtPause).toBeLessThanOrEqual(1)
    expect(emitted).toBeLessThan(count / 2)

    // Duplicates: only what the paused bridge emitted and never got acknowledged, which the
    // standby rightly sent again (plus the one whose answer may have been on its way).
    const inFlight = emittedAtPause + 1 - (await metric(stale, 'events_acked_total'))
    // A node that missed an original in gossip may already hold the standby's copy; Serf's
    // push/pull (every 15 s with the local profile) brings the original too. Wait for it, so
    // every node has both copies of what was sent twice.
    const fenced = () =>
      Promise.all(serf.agents.map(async (a) => (await a.readEvents()).filter((e) => e.name === 'fenced')))
    const perNode = await waitFor(
      async () => {
        const lists = await fenced()
        return lists.every((events) => events.length === lists[0]!.length) && lists
      },
      { timeoutMs: 45_000, intervalMs: 250, what: 'every node to hold the same copies (push/pull repair)' },
    )
    const duplicates = perNode.map((events) => events.length - count)
    console.log(
      `paused mid-batch after ${emittedAtPause} events: ${emitted} emitted in all, duplicates per node ${duplicates.join(', ')}`,
    )
    for (const [n, events] of perNode.entries()) {
      expect(duplicates[n]).toBeLessThanOrEqual(inFlight)
      expect(lamportFollowsQueue(events, sequences)).toBe(true)
    }

    expect(await stale.stop()).toBe(0)
    expect(await standby.stop()).toBe(0)
  }, 180_000)
})
