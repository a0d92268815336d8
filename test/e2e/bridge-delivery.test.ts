/**
 * The whole path against real parts: signed requests → edge in workerd (wrangler dev) →
 * agent-bridge process → a real 3-node Serf cluster on loopback with recording handlers.
 */
import { describe, expect, it } from 'vitest'
import { fireBurst, lamportFollowsQueue } from '../helpers/fire.ts'
import { pipeline } from '../helpers/pipeline.ts'
import { payloadText, waitFor } from '../helpers/serf-agent.ts'

const p = pipeline({
  nodes: 3,
  clusters: {
    // The edge is told 9216 although the agents keep Serf's 512: Serf refuses what passes here.
    main: { userEventSizeLimit: 9216, bridgeLeaseTtl: '3s', maxEventAge: '1h' },
  },
})

/** Records of `name` on every node, once each node has at least `count` of them. */
async function received(name: string, count: number, timeoutMs = 120_000) {
  return waitFor(
    async () => {
      const perNode = await p.eventsNamed(name)
      return perNode.every((events) => events.length >= count) && perNode
    },
    { timeoutMs, intervalMs: 250, what: `${count} "${name}" events on every node` },
  )
}

describe('a burst of 5,000 non-coalesced events', () => {
  it('reaches every node, none lost, Lamport times in queue order', async () => {
    const count = 5_000
    const answers = await fireBurst(p.edge, 'main', count, (i) => ({
      name: 'load',
      payload: String(i),
      coalesce: false,
    }))
    const sequences = answers.map((a) => a.sequence)
    expect(new Set(sequences).size).toBe(count)

    const started = performance.now()
    const bridge = p.startBridge('main')
    const perNode = await received('load', count, 480_000)
    const seconds = (performance.now() - started) / 1000
    for (const events of perNode) {
      const indexes = new Set(events.map((e) => Number(payloadText(e))))
      expect(indexes.size).toBe(count)
      expect(events.length).toBe(count)
      expect(lamportFollowsQueue(events, sequences)).toBe(true)
    }
    console.log(
      `burst: ${count} events on all 3 nodes in ${seconds.toFixed(1)} s = ${(count / seconds).toFixed(0)} events/s`,
    )
    expect(await bridge.stop()).toBe(0)
    expect(bridge.logs.some((l) => l.msg === 'lease released')).toBe(true)
  }, 600_000)
})
