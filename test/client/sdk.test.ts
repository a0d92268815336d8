import { afterEach, describe, expect, it } from 'vitest'
import {
  ClientConfigError,
  EdgeProblemError,
  EdgeUnreachableError,
  EventValidationError,
  EventWaitTimeoutError,
  fireEvent,
  generateHmacKey,
  KeyFormatError,
  waitForEvent,
} from '../../client/index.ts'
import { MAX_USER_EVENT_SIZE_LIMIT } from '../../protocol/event.ts'
import { accepted, type StubEdge, scripted, startStubEdge, status } from './stub-edge.ts'

const key = generateHmacKey().secret
const FAST = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 }
let edge: StubEdge
afterEach(() => edge?.close())

const target = (url: string) => ({ edgeUrl: url, cluster: 'prod', sender: 'bot', key })

describe('fireEvent refuses locally what the edge would refuse, sending nothing', () => {
  it('checks the body with the edge schema', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    await expect(fireEvent({ ...target(edge.url), name: '' })).rejects.toThrow(
      new EventValidationError('name must not be empty'),
    )
    await expect(fireEvent({ ...target(edge.url), name: 'a\nb' })).rejects.toThrow('control characters')
    expect(edge.requests).toHaveLength(0)
  })

  it("sends Serf's largest possible event and refuses one byte more", async () => {
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    const payload = 'x'.repeat(MAX_USER_EVENT_SIZE_LIMIT - 'deploy'.length)
    await expect(fireEvent({ ...target(edge.url), name: 'deploy', payload })).resolves.toMatchObject({ id: 'evt_1' })
    await expect(fireEvent({ ...target(edge.url), name: 'deploy', payload: `${payload}x` })).rejects.toThrow(
      EventValidationError,
    )
    expect(edge.requests).toHaveLength(1)
  })

  it('refuses a cluster id, edge URL or key that cannot work', async () => {
    const base = { ...target('http://127.0.0.1:1'), name: 'deploy' }
    await expect(fireEvent({ ...base, cluster: 'Prod/x' })).rejects.toThrow(ClientConfigError)
    await expect(fireEvent({ ...base, edgeUrl: 'ftp://edge' })).rejects.toThrow('must be http(s)')
    await expect(fireEvent({ ...base, key: [] })).rejects.toThrow(KeyFormatError)
    await expect(fireEvent({ ...base, requestId: 'has space' })).rejects.toThrow(ClientConfigError)
  })
})

describe('fireEvent on the wire', () => {
  it('sends bytes as payloadBase64, unchanged, and text as payload', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    const bytes = Uint8Array.from([0xef, 0xbb, 0xbf, 0xc3, 0x28, 0x00])
    await fireEvent({ ...target(edge.url), name: 'blob', payload: bytes })
    await fireEvent({ ...target(edge.url), name: 'text', payload: 'héllo', coalesce: false })
    const [blob, text] = edge.requests.map((request) => JSON.parse(request.body))
    expect(new Uint8Array(Buffer.from(blob.payloadBase64, 'base64'))).toEqual(bytes)
    expect(text).toEqual({ cluster: 'prod', name: 'text', payload: 'héllo', coalesce: false })
  })

  it('uses the given requestId as webhook-id and keeps a path prefix of the edge URL', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    await fireEvent({ ...target(`${edge.url}/serf`), name: 'deploy', requestId: 'msg_fixed' })
    expect(edge.requests[0].path).toBe('/serf/v1/clusters/prod/events')
    expect(edge.requests[0].headers['webhook-id']).toBe('msg_fixed')
  })

  it('retries a dropped connection with the same webhook-id', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    const seen: string[] = []
    let calls = 0
    const flaky: typeof fetch = async (input, init) => {
      seen.push(new Headers(init?.headers).get('webhook-id')!)
      if (++calls === 1) throw new TypeError('fetch failed', { cause: new Error('socket hang up') })
      return fetch(input, init)
    }
    await fireEvent({ ...target(edge.url), name: 'deploy', fetch: flaky, retry: FAST })
    expect(seen).toHaveLength(2)
    expect(seen[1]).toBe(seen[0])
  })

  it('throws EdgeUnreachableError with the cause after its attempts', async () => {
    const down: typeof fetch = async () => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      })
    }
    const error = await fireEvent({
      ...target('http://127.0.0.1:1'),
      name: 'x',
      fetch: down,
      retry: FAST,
    }).catch((e) => e)
    expect(error).toBeInstanceOf(EdgeUnreachableError)
    expect(error).toMatchObject({
      attempts: 3,
      message: 'cannot reach the edge at http://127.0.0.1:1 (3 attempts): connect ECONNREFUSED',
    })
  })

  it('treats an answer that is not the contract as a 502 problem', async () => {
    edge = await startStubEdge(scripted({ POST: [() => ({ status: 202, body: { id: 'evt_1' } })] }))
    const error = await fireEvent({ ...target(edge.url), name: 'x' }).catch((e) => e)
    expect(error).toBeInstanceOf(EdgeProblemError)
    expect(error).toMatchObject({ status: 502, title: 'Malformed answer from the edge' })
    expect(error.detail).toContain('sequence')
  })

  it('stops at once when its signal aborts', async () => {
    const controller = new AbortController()
    let calls = 0
    const hang: typeof fetch = (_input, init) => {
      calls++
      controller.abort(new Error('bot shutting down'))
      return new Promise((_resolve, reject) => {
        if (init?.signal?.aborted) reject(init.signal.reason)
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason))
      })
    }
    const pending = fireEvent({
      ...target('http://127.0.0.1:1'),
      name: 'x',
      fetch: hang,
      signal: controller.signal,
    })
    await expect(pending).rejects.toThrow('bot shutting down')
    expect(calls).toBe(1)
  })
})

describe('waitForEvent', () => {
  it('polls until the event leaves queued and reports each status read', async () => {
    edge = await startStubEdge(scripted({ GET: [status('queued'), status('queued'), status('delivered')] }))
    const seen: string[] = []
    const final = await waitForEvent({
      ...target(edge.url),
      id: 'evt_1',
      pollIntervalMs: 10,
      onStatus: (s) => seen.push(s.status),
    })
    expect(final.status).toBe('delivered')
    expect(seen).toEqual(['queued', 'queued', 'delivered'])
  })

  it('throws EventWaitTimeoutError carrying the last status at the deadline', async () => {
    edge = await startStubEdge(scripted({ GET: [status('queued')] }))
    const error = await waitForEvent({
      ...target(edge.url),
      id: 'evt_1',
      timeoutMs: 300,
      pollIntervalMs: 50,
    }).catch((e) => e)
    expect(error).toBeInstanceOf(EventWaitTimeoutError)
    expect(error.lastStatus).toMatchObject({ id: 'evt_1', status: 'queued' })
  })

  it('ends with the caller’s abort reason, not a timeout', async () => {
    edge = await startStubEdge(scripted({ GET: [status('queued')] }))
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('cancelled')), 100)
    await expect(
      waitForEvent({
        ...target(edge.url),
        id: 'evt_1',
        signal: controller.signal,
        pollIntervalMs: 20,
      }),
    ).rejects.toThrow('cancelled')
  })
})
