/** One signed attempt at the edge, against a real HTTP server on 127.0.0.1 standing in for it. */
import { afterEach, describe, expect, it } from 'vitest'
import { type EdgeSigner, type SignedRequest, sendOnce } from '../../protocol/edge-request.ts'
import { EdgeProblemError, EdgeUnreachableError } from '../../protocol/problem.ts'
import { generateHmacKey, importSignKey, importVerifyKey, verifySignature } from '../../protocol/signature.ts'
import { ackResponseSchema, SENDER_HEADER } from '../../protocol/wire.ts'
import { type RecordedRequest, type StubEdge, startStubEdge } from '../client/stub-edge.ts'

const key = generateHmacKey().secret
const ACK = { delivered: 2, rejected: 1, settledThrough: 9 }
let edge: StubEdge
afterEach(() => edge?.close())

const signer = async (sender?: string): Promise<EdgeSigner> => ({ sender, keys: [await importSignKey(key)], fetch })
const post = (url: string, body: object): SignedRequest => ({
  method: 'POST',
  url: new URL('/v1/clusters/prod/bridge/ack', url),
  body: JSON.stringify(body),
})
const once = async (request: SignedRequest, options: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
  sendOnce(await signer(), request, ackResponseSchema, { timeoutMs: 5_000, ...options })

async function verified(request: RecordedRequest, payload: string): Promise<void> {
  const { headers } = request
  const ids = { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'] }
  await verifySignature([await importVerifyKey(key)], { ...ids, signature: headers['webhook-signature'] }, payload)
}

describe('an answer is signed for, sent once and checked', () => {
  it('signs the body, sends it as JSON and returns the answer the schema describes', async () => {
    edge = await startStubEdge(() => ({ status: 200, body: { ...ACK, addedLater: true } }))
    const answer = await once(post(edge.url, { through: 9 }))
    expect(answer).toEqual(ACK)
    const [request] = edge.requests
    expect(request).toMatchObject({ method: 'POST', path: '/v1/clusters/prod/bridge/ack', body: '{"through":9}' })
    expect(request.headers['content-type']).toBe('application/json')
    expect(request.headers[SENDER_HEADER]).toBeUndefined()
    await verified(request, request.body)
  })

  it('signs the path and query of a request without a body, and names the sender', async () => {
    edge = await startStubEdge(() => ({ status: 200, body: ACK }))
    const url = new URL('/v1/clusters/prod/events/evt_1?x=1', edge.url)
    await sendOnce(await signer('chatops'), { method: 'GET', url }, ackResponseSchema, { timeoutMs: 5_000 })
    const [request] = edge.requests
    expect(request.headers[SENDER_HEADER]).toBe('chatops')
    await verified(request, '/v1/clusters/prod/events/evt_1?x=1')
  })

  it('keeps a given webhook-id', async () => {
    edge = await startStubEdge(() => ({ status: 200, body: ACK }))
    await once({ ...post(edge.url, {}), requestId: 'msg_fixed' })
    expect(edge.requests[0].headers['webhook-id']).toBe('msg_fixed')
  })
})

describe('a refusal is the edge problem it names', () => {
  it('reads problem+json into an EdgeProblemError matched by slug', async () => {
    edge = await startStubEdge(() => ({
      status: 409,
      body: {
        type: 'urn:serf-edge:problem:lease-lost',
        title: 'Lease is no longer held by this bridge',
        status: 409,
        detail: 'lease token 3 is no longer current',
        holder: 'bridge-b',
      },
    }))
    const error = await once(post(edge.url, {})).catch((e) => e)
    expect(error).toBeInstanceOf(EdgeProblemError)
    expect(error.is('lease-lost')).toBe(true)
    expect(error).toMatchObject({ status: 409, slug: 'lease-lost', detail: 'lease token 3 is no longer current' })
    expect(error.problem.holder).toBe('bridge-b')
    expect(error.retryable).toBe(false)
  })

  it("reads a proxy's HTML 502 as a retryable problem with the page's text", async () => {
    edge = await startStubEdge(() => ({
      status: 502,
      text: '<html><body>Bad gateway</body></html>',
      headers: { 'content-type': 'text/html' },
    }))
    const error = await once(post(edge.url, {})).catch((e) => e)
    expect(error).toBeInstanceOf(EdgeProblemError)
    expect(error).toMatchObject({ status: 502, type: 'about:blank', slug: undefined, retryable: true })
    expect(error.detail).toContain('Bad gateway')
  })

  it('treats a 200 that is not the contract as a 502 from the edge', async () => {
    edge = await startStubEdge(() => ({ status: 200, body: { delivered: 'two' } }))
    const error = await once(post(edge.url, {})).catch((e) => e)
    expect(error).toBeInstanceOf(EdgeProblemError)
    expect(error).toMatchObject({ status: 502, title: 'Malformed answer from the edge' })
    expect(error.detail).toContain('delivered')
  })
})

describe('no answer', () => {
  it('is EdgeUnreachableError after one attempt when nothing listens', async () => {
    edge = await startStubEdge(() => ({ status: 200, body: ACK }))
    await edge.close()
    const error = await once(post(edge.url, {})).catch((e) => e)
    expect(error).toBeInstanceOf(EdgeUnreachableError)
    expect(error).toMatchObject({ attempts: 1, url: edge.url })
    expect(error.message).toMatch(/^cannot reach the edge at http:\/\/127\.0\.0\.1:\d+ \(1 attempt\): /)
  })

  it('is EdgeUnreachableError when the answer takes longer than the attempt may', async () => {
    edge = await startStubEdge(() => new Promise(() => {}))
    const error = await once(post(edge.url, {}), { timeoutMs: 200 }).catch((e) => e)
    expect(error).toBeInstanceOf(EdgeUnreachableError)
    expect(error.message).toContain('timed out')
  })

  it("ends with the caller's abort reason, not as unreachable", async () => {
    let arrived: () => void
    const arrival = new Promise<void>((resolve) => (arrived = resolve))
    edge = await startStubEdge(() => {
      arrived()
      return new Promise(() => {})
    })
    const controller = new AbortController()
    const pending = once(post(edge.url, {}), { signal: controller.signal })
    await arrival
    controller.abort(new Error('bridge stopping'))
    await expect(pending).rejects.toThrow('bridge stopping')
  })
})
