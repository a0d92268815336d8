/** Standard Webhooks signatures: what verifies, what does not, and idempotent retries. */
import { env, exports } from 'cloudflare:workers'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { EDGE, get, newId, post, problem } from './helpers.ts'

const path = '/v1/clusters/staging/events'
const body = (name = 'deploy') => ({ cluster: 'staging', name, payload: 'v1.2.3', coalesce: true })

async function unauthenticated(res: Response, detail: RegExp) {
  expect(res.status).toBe(401)
  const answer = await problem(res)
  expect(answer.type).toBe('urn:serf-edge:problem:unauthenticated')
  expect(answer.detail).toMatch(detail)
}

describe('signatures that verify', () => {
  it('a v1 signature made by the standardwebhooks package is accepted', async () => {
    const text = JSON.stringify(body())
    const id = newId()
    const timestamp = new Date()
    const signature = new Webhook(env.TEST_KEYS.ci[0]!).sign(id, timestamp, text)
    const res = await exports.default.fetch(`${EDGE}${path}`, {
      method: 'POST',
      body: text,
      headers: {
        'content-type': 'application/json',
        'serf-edge-sender': 'ci',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': signature,
      },
    })
    expect(res.status).toBe(202)
  })

  it('every key of a sender verifies (rotation), HMAC and Ed25519 alike', async () => {
    for (const key of env.TEST_KEYS.ci) {
      expect((await post(path, body(), { keys: [key] })).status).toBe(202)
    }
  })

  it('a header carrying an old and a new signature verifies with either key configured', async () => {
    const unknownOld = `whsec_${btoa('an-old-key-no-longer-configured!')}`
    expect((await post(path, body(), { keys: [unknownOld, env.TEST_KEYS.ci[1]!] })).status).toBe(202)
  })
})

describe('signatures that do not verify', () => {
  it('a tampered body is refused', async () => {
    const res = await post(path, body('deploy'), { signAs: JSON.stringify(body('rollback')) })
    await unauthenticated(res, /no signature .* matches/)
  })

  it('a key of another sender is refused', async () => {
    await unauthenticated(await post(path, body(), { keys: [env.TEST_KEYS.chatops] }), /sender "ci"/)
  })

  it('a timestamp older than 5 minutes is refused, and one from the future', async () => {
    const now = Math.floor(Date.now() / 1000)
    await unauthenticated(await post(path, body(), { timestamp: now - 301 }), /too old/)
    await unauthenticated(await post(path, body(), { timestamp: now + 301 }), /future/)
    expect((await post(path, body(), { timestamp: now - 290 })).status).toBe(202)
  })

  it('missing headers, an unknown sender and a garbled signature are refused', async () => {
    const res = await exports.default.fetch(`${EDGE}${path}`, {
      method: 'POST',
      body: JSON.stringify(body()),
      headers: { 'content-type': 'application/json', 'serf-edge-sender': 'ci' },
    })
    await unauthenticated(res, /missing webhook-id/)
    await unauthenticated(await post(path, body(), { sender: null }), /missing serf-edge-sender/)
    await unauthenticated(await post(path, body(), { sender: 'mallory' }), /unknown sender "mallory"/)
    await unauthenticated(
      await post(path, body(), { headers: { 'webhook-signature': 'v1,!!!! v1a,AAAA v2,abc nonsense' } }),
      /no signature/,
    )
  })

  it('a captured request replayed against another cluster is refused', async () => {
    const text = JSON.stringify(body())
    const res = await post('/v1/clusters/prod/events', text)
    expect(res.status).toBe(400)
    expect((await problem(res)).type).toBe('urn:serf-edge:problem:cluster-mismatch')
  })

  it('a signed status read cannot be pointed at another event', async () => {
    const res = await get('/v1/clusters/staging/events/evt_a', { signAs: '/v1/clusters/staging/events/evt_b' })
    await unauthenticated(res, /no signature/)
  })
})

describe('the request id is the idempotency key', () => {
  it('a retry of an accepted request returns the original answer and queues nothing', async () => {
    const id = newId()
    const first = await post(path, body(), { id })
    const original = await first.json()
    const retry = await post(path, body(), { id, timestamp: Math.floor(Date.now() / 1000) + 5 })
    expect(retry.status).toBe(202)
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    expect(await retry.json()).toEqual(original)
    const next = (await (await post(path, body())).json()) as { sequence: number }
    expect(next.sequence).toBe((original as { sequence: number }).sequence + 1)
  })

  it('the same id with a different body is refused with 409', async () => {
    const id = newId()
    expect((await post(path, body('deploy'), { id })).status).toBe(202)
    const res = await post(path, body('restart'), { id })
    expect(res.status).toBe(409)
    expect((await problem(res)).detail).toMatch(/already used for another body/)
  })

  it('ids are per sender: two senders may use the same id', async () => {
    const id = newId()
    expect((await post(path, body(), { id })).status).toBe(202)
    const other = await post(path, body(), { id, sender: 'chatops' })
    expect(other.status).toBe(202)
    expect(other.headers.get('idempotent-replayed')).toBeNull()
  })
})
