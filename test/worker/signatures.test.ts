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

/** A Standard Webhooks v1 header over exact bytes, computed here with WebCrypto. */
async function hmacOverBytes(secret: string, id: string, timestamp: number, bytes: Uint8Array) {
  const raw = Uint8Array.from(atob(secret.slice('whsec_'.length)), (ch) => ch.charCodeAt(0))
  const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const prefix = new TextEncoder().encode(`${id}.${timestamp}.`)
  const content = new Uint8Array(prefix.length + bytes.length)
  content.set(prefix)
  content.set(bytes, prefix.length)
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, content))
  return `v1,${btoa(String.fromCharCode(...mac))}`
}

/** POST exact `bytes`, signed by sender `ci` over `signed` (default: the same bytes). */
async function postBytes(target: string, bytes: Uint8Array, signed = bytes, headers: Record<string, string> = {}) {
  const id = newId()
  const timestamp = Math.floor(Date.now() / 1000)
  return exports.default.fetch(`${EDGE}${target}`, {
    method: 'POST',
    body: bytes,
    headers: {
      'content-type': 'application/json',
      'serf-edge-sender': 'ci',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': await hmacOverBytes(env.TEST_KEYS.ci[0]!, id, timestamp, signed),
      ...headers,
    },
  })
}

const BOM = Uint8Array.of(0xef, 0xbb, 0xbf)
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]))

describe('signatures are checked over the bytes received, not over decoded text', () => {
  it('a correctly signed body that begins with a UTF-8 byte-order mark is accepted', async () => {
    const json = new TextEncoder().encode(JSON.stringify(body('deploy-bom')))
    const res = await postBytes(path, concat(BOM, json))
    expect(res.status).toBe(202)
    const accepted = (await res.json()) as { id: string }
    const status = (await (await get(`${path}/${accepted.id}`)).json()) as { name: string }
    expect(status.name).toBe('deploy-bom')
  })

  it('the standardwebhooks package signing a BOM-prefixed body is accepted too', async () => {
    const text = `\uFEFF${JSON.stringify(body())}`
    const id = newId()
    const timestamp = new Date()
    const res = await exports.default.fetch(`${EDGE}${path}`, {
      method: 'POST',
      body: text,
      headers: {
        'content-type': 'application/json',
        'serf-edge-sender': 'ci',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': new Webhook(env.TEST_KEYS.ci[0]!).sign(id, timestamp, text),
      },
    })
    expect(res.status).toBe(202)
  })

  it('a signature over the text a decoder makes of those bytes (BOM dropped) is refused', async () => {
    const json = new TextEncoder().encode(JSON.stringify(body()))
    await unauthenticated(await postBytes(path, concat(BOM, json), json), /no signature .* matches/)
  })

  it('a correctly signed body that is not valid UTF-8 is refused as malformed, not decoded', async () => {
    const [before, after] = JSON.stringify(body('deploy-invalid')).split('v1.2.3')
    const bytes = concat(
      new TextEncoder().encode(before),
      Uint8Array.of(0x76, 0xff, 0xfe),
      new TextEncoder().encode(after),
    )
    const sequence = async () => ((await (await post(path, body())).json()) as { sequence: number }).sequence
    const lastSequence = await sequence()
    const res = await postBytes(path, bytes)
    expect(res.status).toBe(400)
    const answer = await problem(res)
    expect(answer.type).toBe('urn:serf-edge:problem:malformed-json')
    expect(answer.detail).toBe('request body is not valid UTF-8')
    expect(await sequence()).toBe(lastSequence + 1)
  })

  it('bridge calls are verified over their bytes as well', async () => {
    const poll = { cluster: 'staging', bridgeId: 'bom-bridge', after: 0, limit: 1, waitMs: 0 }
    const json = new TextEncoder().encode(JSON.stringify(poll))
    const id = newId()
    const timestamp = Math.floor(Date.now() / 1000)
    const send = async (signed: Uint8Array) =>
      exports.default.fetch(`${EDGE}/v1/clusters/staging/bridge/poll`, {
        method: 'POST',
        body: concat(BOM, json),
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': await hmacOverBytes(env.TEST_KEYS.bridge, id, timestamp, signed),
        },
      })
    await unauthenticated(await send(json), /bridge of cluster "staging": no signature/)
    expect((await send(concat(BOM, json))).status).toBe(200)
  })
})
