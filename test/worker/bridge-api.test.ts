/**
 * Bridge API: long-poll, ack with outcomes, one lease holder with fencing, expiry, pruning.
 * Each test that looks at a whole queue or at the lease has a cluster of its own
 * (vitest.worker.config.mts), and moves stored times instead of waiting for the clock.
 */

import { runDurableObjectAlarm } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { PollResponse } from '../../protocol/wire.ts'
import { waitFor } from '../../scripts/harness/wait.ts'
import { bridge, fire, get, inQueue, problem } from './helpers.ts'

const poll = async (cluster: string, bridgeId: string, after = 0, waitMs = 0, limit = 100) =>
  bridge(cluster, 'poll', { bridgeId, after, limit, waitMs })

const page = async (res: Response) => {
  if (res.status !== 200) throw new Error(`poll answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as PollResponse
}

const statusOf = async (cluster: string, id: string) =>
  (await (await get(`/v1/clusters/${cluster}/events/${id}`)).json()) as {
    status: string
    error?: string
    settledAt?: string
  }

describe('long-poll', () => {
  it('hands out queued events in order with their payload and coalesce flag', async () => {
    await fire('poll-order', { name: 'a', payload: 'one', coalesce: false })
    await fire('poll-order', { name: 'b', payloadBase64: 'AP8=' })
    const { events, lease, backlog } = await page(await poll('poll-order', 'bridge-1'))
    expect(backlog).toBe(2)
    expect(events.map((e) => [e.sequence, e.name, e.payloadBase64, e.coalesce])).toEqual([
      [1, 'a', btoa('one'), false],
      [2, 'b', 'AP8=', true],
    ])
    expect(lease.token).toBeGreaterThan(0)
    const after = await page(await poll('poll-order', 'bridge-1', 2))
    expect(after.events).toEqual([])
  })

  it('a waiting poll wakes at once when an event is queued', async () => {
    const started = Date.now()
    const waiting = poll('poll-wake', 'bridge-w', 0, 20_000).then(page)
    // A poll takes the lease and starts waiting in one step: from then on only the event wakes it.
    await waitFor(() => inQueue('poll-wake', (sql) => sql.exec('SELECT token FROM lease').toArray().length > 0), {
      what: 'the poll to hold the lease and wait',
    })
    await fire('poll-wake', { name: 'wake' })
    const { events } = await waiting
    expect(events.map((e) => e.name)).toEqual(['wake'])
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('an idle poll answers an empty page after its wait, not an error', async () => {
    const started = Date.now()
    const { events } = await page(await poll('poll-idle', 'bridge-a', 0, 400))
    expect(events).toEqual([])
    expect(Date.now() - started).toBeGreaterThanOrEqual(350)
  })

  it('refuses a request signed with a sender key and a malformed poll', async () => {
    const res = await bridge('prod', 'poll', { bridgeId: 'x', after: 0, limit: 1 }, { keys: [env.TEST_KEYS.ci[0]!] })
    expect(res.status).toBe(401)
    const bad = await bridge('prod', 'poll', { bridgeId: 'x', after: -1, limit: 5000 })
    expect(bad.status).toBe(422)
    expect((await problem(bad)).detail).toMatch(/after.*limit|limit.*after/s)
  })
})

describe('ack', () => {
  it("settles events as delivered or rejected with Serf's text, shown by the status API", async () => {
    const ok = await fire('ack-outcomes', { name: 'ok' })
    const bad = await fire('ack-outcomes', { name: 'bad' })
    const later = await fire('ack-outcomes', { name: 'later' })
    const { lease } = await page(await poll('ack-outcomes', 'bridge-w', 0))
    const res = await bridge('ack-outcomes', 'ack', {
      bridgeId: 'bridge-w',
      leaseToken: lease.token,
      through: bad.sequence,
      rejected: [{ sequence: bad.sequence, error: 'user event exceeds limit of 512 bytes' }],
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ delivered: bad.sequence - 1, rejected: 1, settledThrough: bad.sequence })
    expect(await statusOf('ack-outcomes', ok.id)).toMatchObject({
      status: 'delivered',
      settledAt: expect.any(String),
    })
    expect(await statusOf('ack-outcomes', bad.id)).toMatchObject({
      status: 'rejected',
      error: 'user event exceeds limit of 512 bytes',
    })
    expect(await statusOf('ack-outcomes', later.id)).toMatchObject({ status: 'queued' })
    const rest = await page(await poll('ack-outcomes', 'bridge-w', 0))
    expect(rest.events.map((e) => e.id)).toEqual([later.id])
  })

  it('refuses an ack beyond the last sequence', async () => {
    const { lease } = await page(await poll('ack-bounds', 'bridge-1'))
    const res = await bridge('ack-bounds', 'ack', { bridgeId: 'bridge-1', leaseToken: lease.token, through: 10_000 })
    expect(res.status).toBe(422)
  })
})

describe('one active bridge per cluster', () => {
  it('a second bridge is told it is standby and how long to wait', async () => {
    await page(await poll('lease-standby', 'bridge-a'))
    const res = await poll('lease-standby', 'bridge-b')
    expect(res.status).toBe(409)
    const answer = await problem(res)
    expect(answer).toMatchObject({ type: 'urn:serf-edge:problem:lease-held', holder: 'bridge-a' })
    expect(answer.retryAfterMs).toBeGreaterThan(0)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
  })

  it('a lapsed lease passes to the next bridge, which resumes from the last ack; the old ack is refused', async () => {
    const first = await fire('lease-lapse', { name: 'one' })
    const second = await fire('lease-lapse', { name: 'two' })
    const a = await page(await poll('lease-lapse', 'bridge-a'))
    await bridge('lease-lapse', 'ack', { bridgeId: 'bridge-a', leaseToken: a.lease.token, through: first.sequence })
    expect((await poll('lease-lapse', 'bridge-b')).status).toBe(409)
    // Bridge A goes silent until its lease lapses: the stored expiry passes, as time would make it.
    await inQueue('lease-lapse', (sql) => sql.exec('UPDATE lease SET expires_at = ?', Date.now() - 1))
    const b = await page(await poll('lease-lapse', 'bridge-b', 0))
    expect(b.lease.token).toBeGreaterThan(a.lease.token)
    expect(b.events.map((e) => e.id)).toEqual([second.id])
    const stale = await bridge('lease-lapse', 'ack', {
      bridgeId: 'bridge-a',
      leaseToken: a.lease.token,
      through: second.sequence,
    })
    expect(stale.status).toBe(409)
    expect(await problem(stale)).toMatchObject({ type: 'urn:serf-edge:problem:lease-lost', holder: 'bridge-b' })
    expect(await statusOf('lease-lapse', second.id)).toMatchObject({ status: 'queued' })
  })

  it('a released lease passes at once', async () => {
    const a = await page(await poll('lease-release', 'bridge-a'))
    expect((await poll('lease-release', 'bridge-b')).status).toBe(409)
    const res = await bridge('lease-release', 'release', { bridgeId: 'bridge-a', leaseToken: a.lease.token })
    expect(await res.json()).toEqual({ released: true })
    expect((await poll('lease-release', 'bridge-b')).status).toBe(200)
  })
})

describe('expiry and retention', () => {
  it('an event older than the max age becomes expired and is never handed out', async () => {
    const stale = await fire('max-age', { name: 'stale-deploy' })
    // Queued 16 minutes ago, past the cluster's max age of 15.
    await inQueue('max-age', (sql) =>
      sql.exec('UPDATE events SET enqueued_at = ? WHERE id = ?', Date.now() - 16 * 60_000, stale.id),
    )
    const fresh = await fire('max-age', { name: 'fresh' })
    const { events } = await page(await poll('max-age', 'bridge-e', 0))
    expect(events.map((e) => e.id)).toEqual([fresh.id])
    expect(await statusOf('max-age', stale.id)).toMatchObject({ status: 'expired' })
    expect(await statusOf('max-age', fresh.id)).toMatchObject({ status: 'queued' })
  })

  it('the alarm prunes settled events past retention and keeps the rest', async () => {
    const old = await fire('retention', { name: 'old' })
    const kept = await fire('retention', { name: 'kept' })
    // Delivered two days ago, past the cluster's retention of one.
    await inQueue('retention', (sql) =>
      sql.exec(
        `UPDATE events SET state = 'delivered', settled_at = ? WHERE id = ?`,
        Date.now() - 2 * 86_400_000,
        old.id,
      ),
    )
    const stub = env.CLUSTER_QUEUE.get(env.CLUSTER_QUEUE.idFromName('retention'))
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect((await get(`/v1/clusters/retention/events/${old.id}`)).status).toBe(404)
    expect(await statusOf('retention', kept.id)).toMatchObject({ status: 'queued' })
    const remaining = await inQueue(
      'retention',
      (sql) => sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE id = ?', old.id).one().n,
    )
    expect(remaining).toBe(0)
    const next = await fire('retention', { name: 'after-prune' })
    expect(next.sequence).toBe(kept.sequence + 1)
  })
})
