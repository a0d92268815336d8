/**
 * Sequence numbers: strictly increasing, no gaps, no duplicates, under concurrency. Tests that
 * look at a whole queue have a cluster of their own (vitest.worker.config.mts).
 */
import { describe, expect, it } from 'vitest'
import { fire, get, post, problem } from './helpers.ts'

describe('the cluster queue orders events', () => {
  it('200 concurrent signed posts become sequences 1..200 without gap or duplicate', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        fire('concurrent-posts', { name: 'job', payload: String(i), coalesce: false }),
      ),
    )
    const sequences = answers.map((a) => a.sequence).sort((a, b) => a - b)
    expect(sequences).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    expect(new Set(answers.map((a) => a.id)).size).toBe(200)
  })

  it('a full queue refuses with 429 and Retry-After, and queues nothing', async () => {
    for (let i = 0; i < 5; i++) await fire('tiny-queue', { name: 'fill' })
    const res = await post('/v1/clusters/tiny-queue/events', { cluster: 'tiny-queue', name: 'one-too-many' })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('30')
    expect((await problem(res)).detail).toMatch(/5 events waiting for its bridge \(limit 5\)/)
  })
})

describe('event status', () => {
  it('a queued event reads back as queued with its fields', async () => {
    const accepted = await fire('prod', { name: 'deploy', payload: 'abc', coalesce: false })
    const res = await get(`/v1/clusters/prod/events/${accepted.id}`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      id: accepted.id,
      cluster: 'prod',
      sequence: accepted.sequence,
      name: 'deploy',
      coalesce: false,
      status: 'queued',
    })
  })

  it('another sender cannot read it, and an unknown id is 404', async () => {
    const accepted = await fire('staging', { name: 'deploy' })
    expect((await get(`/v1/clusters/staging/events/${accepted.id}`, { sender: 'chatops' })).status).toBe(404)
    const res = await get('/v1/clusters/staging/events/evt_nope')
    expect(res.status).toBe(404)
    expect((await problem(res)).type).toBe('urn:serf-edge:problem:unknown-event')
  })
})
