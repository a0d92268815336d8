/**
 * The self-hosted edge (workerd, queues in SQLite on local disk) keeps Cloudflare's guarantees
 * across a crash: kill -9 of workerd mid-stream loses no accepted event and queues none twice,
 * the bridge keeps its lease over the restart, and the cluster's alarm, persisted with the
 * queue, still expires and prunes once workerd is back.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, expect, it } from 'vitest'
import { fireEvent, getEventStatus } from '../../client/sdk.ts'
import type { SelfHostedEdge } from '../../scripts/harness/selfhosted-edge.ts'
import { fireBurst, lamportFollowsQueue } from '../helpers/fire.ts'
import { pipeline } from '../helpers/pipeline.ts'
import { payloadText, waitFor } from '../helpers/serf-agent.ts'

const p = pipeline({
  nodes: 3,
  runtime: 'selfhosted',
  clusters: {
    main: { userEventSizeLimit: 512, bridgeLeaseTtl: '30s', maxEventAge: '1h' },
    // Expires, at its next alarm, what waited over a second.
    tidy: { bridgeLeaseTtl: '3s', maxEventAge: '1s' },
  },
})

const sender = () => ({ edgeUrl: p.edge.url, sender: 'ci', key: p.edge.senderKeys.ci! })

describe('kill -9 of workerd mid-stream', () => {
  it('delivers every accepted event after the restart, each queued once, in queue order', async () => {
    const bridge = p.startBridge('main')
    await bridge.waitForLog(/lease acquired/)
    const count = 1_500
    let accepted = 0
    const crash = (async () => {
      await waitFor(() => accepted >= 500, { timeoutMs: 60_000, what: '500 accepted events' })
      const before = accepted
      await p.edge.kill()
      await p.edge.start()
      return before
    })()
    // The SDK retries an unanswered request with the same request id: the idempotency key.
    const [answers] = await Promise.all([
      fireBurst(
        p.edge,
        'main',
        count,
        (i) => ({
          name: 'crash',
          payload: String(i),
          coalesce: false,
          retry: { attempts: 12, baseDelayMs: 200, maxDelayMs: 2_000 },
        }),
        8,
        () => accepted++,
      ),
      crash,
    ])
    const acceptedBeforeKill = await crash
    expect(acceptedBeforeKill).toBeGreaterThanOrEqual(500)
    expect(acceptedBeforeKill).toBeLessThan(count)

    // Retried requests were answered from the first: one queue entry per event.
    const sequences = answers.map((a) => a.sequence)
    expect(new Set(sequences).size).toBe(count)
    expect(new Set(answers.map((a) => a.id)).size).toBe(count)

    const perNode = await waitFor(
      async () => {
        const nodes = await p.eventsNamed('crash')
        return nodes.every((events) => new Set(events.map(payloadText)).size >= count) && nodes
      },
      { timeoutMs: 300_000, intervalMs: 500, what: `all ${count} events on every node` },
    )
    for (const events of perNode) {
      expect(new Set(events.map((e) => Number(payloadText(e)))).size).toBe(count)
      // Only a batch the bridge had in flight at the kill may reach Serf twice.
      expect(events.length - count).toBeLessThanOrEqual(256)
      expect(lamportFollowsQueue(events, sequences)).toBe(true)
    }
    // The lease lives in the queue's SQLite: the same bridge kept it across the restart.
    expect(bridge.logs.filter((l) => /lease acquired/.test(String(l.msg))).length).toBe(1)
    expect(await bridge.stop()).toBe(0)
  }, 420_000)
})

/** The state of event `id` as the queue's SQLite file on disk holds it, read without the edge. */
async function stateOnDisk(id: string): Promise<string | undefined> {
  const folder = join((p.edge as SelfHostedEdge).stateDir, 'serf-edge-ClusterQueue')
  for (const file of (await readdir(folder)).filter((name) => name.endsWith('.sqlite'))) {
    const db = new DatabaseSync(join(folder, file), { readOnly: true })
    try {
      const row = db.prepare('SELECT state FROM events WHERE id = ?').get(id) as { state: string } | undefined
      if (row) return row.state
    } finally {
      db.close()
    }
  }
  return undefined
}

describe('the alarm after kill -9', () => {
  it('still expires a queued event in the restarted workerd, with no request reaching the cluster', async () => {
    const waiting = await fireEvent({ ...sender(), cluster: 'tidy', name: 'tidy-waiting', payload: 'b' })
    const queuedAt = Date.now()
    expect(await stateOnDisk(waiting.id)).toBe('queued')

    await p.edge.kill()
    await p.edge.start()
    // Nothing asks the cluster anything: only its alarm (set at the append, every 60 s while the
    // log holds anything), persisted with the queue, can expire the event. Reads expire too, so
    // the check reads the SQLite file itself.
    const state = await waitFor(async () => (await stateOnDisk(waiting.id)) === 'expired' && 'expired', {
      timeoutMs: Math.max(0, queuedAt + 75_000 - Date.now()),
      intervalMs: 1_000,
      what: 'the alarm to expire the queued event',
    })
    expect(state).toBe('expired')
    expect(Date.now() - queuedAt).toBeGreaterThan(1_000)
    const status = await getEventStatus({ ...sender(), cluster: 'tidy', id: waiting.id })
    expect(status.status).toBe('expired')
  }, 120_000)
})
