/**
 * A bridge's waiting long-poll lets the cluster's Durable Object sleep (src/queue/wake-socket.ts):
 * the object holds no request while the bridge waits, so the runtime may evict it; the append or
 * query that ends the wait runs in a fresh instance and still answers at once; a restart ends
 * the wait instead of losing it. Local workerd evicts an idle object after 10 s without a
 * request, as Cloudflare hibernates one, and `evictDurableObject` evicts it on demand.
 */
import { evictDurableObject, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { QueryPollResponse } from '../../protocol/query.ts'
import type { PollResponse } from '../../protocol/wire.ts'
import { waitFor } from '../../scripts/harness/wait.ts'
import type { PollResult } from '../../src/queue/cluster-queue.ts'
import { waitForAnswer } from '../../src/queue/wake-socket.ts'
import { bridge, fire, post } from './helpers.ts'
import { leaseOf } from './query-bridge.ts'

/** How soon after the 202 a waiting poll must answer: "at once", with room for a loaded machine. */
const AT_ONCE_MS = 200

const stubOf = (cluster: string) => env.CLUSTER_QUEUE.get(env.CLUSTER_QUEUE.idFromName(cluster))

async function ok<T>(res: Response): Promise<T> {
  if (res.status !== 200 && res.status !== 202) throw new Error(`answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as T
}

/** The object's instance now (made anew if it was evicted), and how many polls wait on `lane`. */
const look = (cluster: string, lane: 'events' | 'queries') =>
  runInDurableObject(stubOf(cluster), (instance, state) => ({ instance, waiting: state.getWebSockets(lane).length }))

/** Until the object holds `lane`'s waiting socket; resolves with its instance then. */
const waitingOn = (cluster: string, lane: 'events' | 'queries') =>
  waitFor(
    async () => {
      const now = await look(cluster, lane)
      return now.waiting === 1 && now.instance
    },
    { intervalMs: 20, what: `a ${lane} poll waiting on its socket` },
  )

/** Evict `cluster`'s object; resolves with how long it took. */
async function evict(cluster: string, webSockets: 'hibernate' | 'close' = 'hibernate'): Promise<number> {
  const started = Date.now()
  await evictDurableObject(stubOf(cluster), { webSockets })
  return Date.now() - started
}

const pollEvents = (cluster: string, bridgeId: string, waitMs: number, after = 0) =>
  bridge(cluster, 'poll', { bridgeId, after, limit: 10, waitMs }).then(ok<PollResponse>)

describe('a waiting events poll lets the object sleep', () => {
  it('holds no request in the object: it evicts at once, and an event wakes the poll from a fresh instance', async () => {
    const answer = pollEvents('sleep-evict', 'bridge-s', 20_000)
    const before = await waitingOn('sleep-evict', 'events')
    // Eviction waits for requests in flight: a poll waiting inside the object held it 20 s.
    expect(await evict('sleep-evict')).toBeLessThan(5_000)
    const queued = await fire('sleep-evict', { name: 'wake' })
    const queuedAt = Date.now()
    const { events } = await answer
    expect(Date.now() - queuedAt).toBeLessThan(AT_ONCE_MS)
    expect(events.map((e) => e.id)).toEqual([queued.id])
    const after = await look('sleep-evict', 'events')
    expect(after.instance).not.toBe(before)
  })

  it('after 10 s without a request local workerd evicts the object; its constructor runs again for the event', async () => {
    const answer = pollEvents('sleep-idle', 'bridge-i', 25_000)
    const before = await waitingOn('sleep-idle', 'events')
    // The idle period itself is what is tested: workerd's eviction timer (server.c++, 10 s).
    await new Promise((resolve) => setTimeout(resolve, 11_000))
    const queued = await fire('sleep-idle', { name: 'wake' })
    const queuedAt = Date.now()
    const { events } = await answer
    expect(Date.now() - queuedAt).toBeLessThan(AT_ONCE_MS)
    expect(events.map((e) => e.id)).toEqual([queued.id])
    expect((await look('sleep-idle', 'events')).instance).not.toBe(before)
  }, 30_000)

  it('a restart ends the wait at once instead of losing it, and the lease and queue are intact', async () => {
    const answer = pollEvents('sleep-restart', 'bridge-r', 20_000)
    await waitingOn('sleep-restart', 'events')
    const restarted = Date.now()
    await evict('sleep-restart', 'close')
    const first = await answer
    expect(Date.now() - restarted).toBeLessThan(5_000)
    expect(first.events).toEqual([])
    const queued = await fire('sleep-restart', { name: 'after-restart' })
    const next = await pollEvents('sleep-restart', 'bridge-r', 20_000)
    expect(next.events.map((e) => e.id)).toEqual([queued.id])
    expect(next.lease.token).toBe(first.lease.token)
  })
})

describe('a waiting query poll lets the object sleep', () => {
  it('holds no request in the object, and a query asked wakes it at once', async () => {
    const leaseToken = await leaseOf('sleep-queries', 'bridge-q')
    const answer = bridge('sleep-queries', 'queries/poll', { bridgeId: 'bridge-q', leaseToken, waitMs: 20_000 }).then(
      ok<QueryPollResponse>,
    )
    await waitingOn('sleep-queries', 'queries')
    expect(await evict('sleep-queries')).toBeLessThan(5_000)
    const asked = await post('/v1/clusters/sleep-queries/queries', { cluster: 'sleep-queries', name: 'uptime' })
    const { id } = await ok<{ id: string }>(asked)
    const askedAt = Date.now()
    const { queries } = await answer
    expect(Date.now() - askedAt).toBeLessThan(AT_ONCE_MS)
    expect(queries.map((q) => q.id)).toEqual([id])
  })
})

describe('the wait and the append never miss each other', () => {
  it('with an event above `after` already queued, no socket is held and the wait ends at once', async () => {
    const queue = stubOf('sleep-race')
    const queued = await fire('sleep-race', { name: 'early' })
    const wait = { lane: 'events', bridgeId: 'bridge-x', after: queued.sequence - 1, limit: 10 } as const
    const started = Date.now()
    expect(await waitForAnswer(queue, wait, 20_000)).toBeNull()
    expect(Date.now() - started).toBeLessThan(5_000)
    expect((await look('sleep-race', 'events')).waiting).toBe(0)
  })

  it('an append answers a waiting poll as the poll would, and one the Worker stopped reading is still queued', async () => {
    const queue = stubOf('sleep-answer')
    const first = await fire('sleep-answer', { name: 'one' })
    const wait = { lane: 'events', bridgeId: 'bridge-a', after: first.sequence, limit: 10 } as const
    const answering = waitForAnswer<PollResult>(queue, wait, 20_000)
    await waitingOn('sleep-answer', 'events')
    const second = await fire('sleep-answer', { name: 'two' })
    expect(await answering).toMatchObject({
      kind: 'events',
      lease: { bridgeId: 'bridge-a' },
      events: [{ id: second.id, sequence: second.sequence }],
      backlog: 2,
    })
    // A Worker whose wait ended just before the answer came drops it: the poll it makes instead
    // hands the same events out.
    const page = await pollEvents('sleep-answer', 'bridge-a', 0, first.sequence)
    expect(page.events.map((e) => e.id)).toEqual([second.id])
  })
})
