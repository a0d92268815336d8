/**
 * Faults: the bridge killed with SIGKILL mid-burst, the Serf agent stopped mid-stream. Nothing
 * may be lost; duplicates only of what was in flight, counted.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fireBurst, lamportFollowsQueue } from '../helpers/fire.ts'
import { pipeline } from '../helpers/pipeline.ts'
import { payloadText, type SerfAgent, waitFor } from '../helpers/serf-agent.ts'

const p = pipeline({
  nodes: 3,
  clusters: { crash: { bridgeLeaseTtl: '3s' }, outage: { bridgeLeaseTtl: '3s' } },
})

const BATCH = ['-batch-size=100']

/** Per node: the events named `name`, once every node has every index 0..count-1. */
async function everyIndexEverywhere(name: string, count: number, agents = p.serf.agents) {
  return waitFor(
    async () => {
      const perNode = await p.eventsNamed(name, agents)
      const complete = perNode.every((events) => new Set(events.map(payloadText)).size >= count)
      return complete && perNode
    },
    { timeoutMs: 240_000, intervalMs: 500, what: `all ${count} "${name}" events on every node` },
  )
}

/** Until each of `agents` has recorded the same "`name`" payloads, unchanged for `quietMs`. */
async function agreeing(name: string, agents: SerfAgent[], quietMs = 2_000) {
  let seen: string | undefined
  let since = Date.now()
  await waitFor(
    async () => {
      const views = (await p.eventsNamed(name, agents)).map((events) =>
        [...new Set(events.map(payloadText))].sort().join(','),
      )
      const agreed = views.every((view) => view === views[0])
      if (!agreed || views[0] !== seen) [seen, since] = [views[0], Date.now()]
      return agreed && Date.now() - since >= quietMs
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `the same "${name}" events on ${agents.length} nodes` },
  )
}

describe('the bridge killed with SIGKILL mid-burst', () => {
  it('after a restart every event is delivered; duplicates only of the batch in flight', async () => {
    const count = 1_000
    const answers = await fireBurst(p.edge, 'crash', count, (i) => ({
      name: 'crash',
      payload: String(i),
      coalesce: false,
    }))
    const sequences = answers.map((a) => a.sequence)
    // The restarted bridge runs on the same host: it finds the cursor the first one left.
    const cursorFile = join(p.dir, 'crash.cursor.json')
    const first = p.startBridge('crash', { bridgeId: 'first', cursorFile, extraArgs: BATCH })
    // Mid-burst, two batches of 100 behind it: the SIGKILL lands while events are in Serf that
    // the edge has not been told of.
    await waitFor(
      async () => {
        const metrics = await first.metrics()
        const emitted = metrics.get('serf_edge_bridge_events_emitted_total') ?? 0
        return emitted >= 250 && emitted > (metrics.get('serf_edge_bridge_events_acked_total') ?? 0)
      },
      { timeoutMs: 120_000, what: 'events emitted and not yet acknowledged, mid-burst' },
    )
    await first.kill()
    const second = p.startBridge('crash', { bridgeId: 'second', cursorFile, extraArgs: BATCH })
    const perNode = await everyIndexEverywhere('crash', count)
    const duplicates = perNode.map((events) => events.length - count)
    console.log(`kill -9 mid-burst: duplicates per node ${duplicates.join(', ')} (batch size 100)`)
    for (const [n, events] of perNode.entries()) {
      expect(duplicates[n]).toBeGreaterThan(0)
      expect(duplicates[n]).toBeLessThanOrEqual(100)
      expect(lamportFollowsQueue(events, sequences)).toBe(true)
    }
    expect(await second.stop()).toBe(0)
  }, 300_000)
})

describe('the Serf agent stopped mid-stream', () => {
  it('the bridge waits, reconnects and delivers the rest in order', async () => {
    const count = 1_000
    const answers = await fireBurst(p.edge, 'outage', count, (i) => ({
      name: 'outage',
      payload: String(i),
      coalesce: false,
    }))
    const sequences = answers.map((a) => a.sequence)
    const bridge = p.startBridge('outage', { bridgeId: 'steady', extraArgs: BATCH })
    const agent = p.serf.agents[0]!
    await bridge.waitForLog(/batch emitted/, 120_000)
    await agent.stop()
    // The agent stays away while the bridge keeps trying, and until what it gossiped before it
    // stopped has settled on the other nodes: rejoining sooner, it could learn a clock behind
    // events it had already sent.
    await waitFor(() => bridge.logs.filter((l) => l.msg === 'Serf agent not reachable; retrying').length >= 2, {
      timeoutMs: 60_000,
      what: 'two failed reconnects',
    })
    await agreeing('outage', p.serf.agents.slice(1))
    await agent.start([p.serf.agents[1]!.bindAddr])
    // The stopped agent drops the handler runs it had not started yet; the others get all.
    const perNode = await everyIndexEverywhere('outage', count, p.serf.agents.slice(1)).catch(async (error) => {
      const counts = (await p.eventsNamed('outage')).map((events) => new Set(events.map(payloadText)).size)
      throw new Error(`${error.message}; per node ${counts.join(', ')}\n${bridge.output.slice(-3000)}`)
    })
    for (const events of perNode) expect(lamportFollowsQueue(events, sequences)).toBe(true)
    const connected = bridge.logs.filter((l) => l.msg === 'connected to the Serf agent')
    expect(connected.length).toBeGreaterThan(1)
    expect(await bridge.stop()).toBe(0)
  }, 300_000)
})
