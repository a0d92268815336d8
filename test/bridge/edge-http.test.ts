/** The bridge's `node:http` transport answers the edge's calls as `fetch` would for them. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpFetch } from '../../agent-bridge/edge-http.ts'
import { sendOnce } from '../../protocol/edge-request.ts'
import { EdgeProblemError, EdgeUnreachableError } from '../../protocol/problem.ts'
import { generateHmacKey, importSignKey } from '../../protocol/signature.ts'
import { ackResponseSchema } from '../../protocol/wire.ts'

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void
let handle: Handler = () => {}
const sockets = new Set<number>()
const server = createServer(async (req, res) => {
  let body = ''
  for await (const chunk of req) body += chunk
  sockets.add(req.socket.remotePort ?? 0)
  handle(req, body, res)
})
let base = ''

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const post = (path: string, body: string, signal = AbortSignal.timeout(5_000)) =>
  httpFetch(new URL(path, base), { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal })

describe('httpFetch', () => {
  it('sends method, headers and body, and reads status, headers and the whole body', async () => {
    const seen: { method?: string; type?: string; length?: string; body?: string } = {}
    handle = (req, body, res) => {
      Object.assign(seen, {
        method: req.method,
        type: req.headers['content-type'],
        length: req.headers['content-length'],
        body,
      })
      res.writeHead(200, { 'content-type': 'application/json', 'x-two': ['a', 'b'] })
      res.end(JSON.stringify({ echo: body }))
    }
    const answer = await post('/v1/x', '{"é":1}')
    expect(seen).toEqual({ method: 'POST', type: 'application/json', length: '8', body: '{"é":1}' })
    expect(answer).toMatchObject({ ok: true, status: 200, statusText: 'OK' })
    expect(answer.headers.get('Content-Type')).toBe('application/json')
    expect(answer.headers.get('x-two')).toBe('a, b')
    expect(answer.headers.get('absent')).toBeNull()
    expect(JSON.parse(await answer.text())).toEqual({ echo: '{"é":1}' })
  })

  it('keeps the connection alive between calls', async () => {
    handle = (_req, _body, res) => res.end('{}')
    sockets.clear()
    for (let i = 0; i < 3; i++) await post('/', '{}')
    expect(sockets.size).toBe(1)
  })

  it('an error status is an answer, not a failure', async () => {
    handle = (_req, _body, res) => {
      res.writeHead(409, { 'content-type': 'application/problem+json' })
      res.end(JSON.stringify({ type: 'urn:x', title: 'Lease held', status: 409 }))
    }
    const answer = await post('/', '{}')
    expect(answer).toMatchObject({ ok: false, status: 409, statusText: 'Conflict' })
    const keys = [await importSignKey(generateHmacKey().secret)]
    const sent = sendOnce(
      { keys, fetch: httpFetch },
      { method: 'POST', url: new URL('/', base), body: '{}' },
      ackResponseSchema,
      {
        timeoutMs: 5_000,
      },
    )
    await expect(sent).rejects.toMatchObject({ status: 409, title: 'Lease held' })
    await expect(sent).rejects.toBeInstanceOf(EdgeProblemError)
  })

  it('rejects with the signal reason when the signal aborts, before or during the call', async () => {
    handle = () => {} // never answers
    const aborted = AbortSignal.abort(new Error('stop'))
    await expect(post('/', '{}', aborted)).rejects.toThrow('stop')
    await expect(post('/', '{}', AbortSignal.timeout(50))).rejects.toMatchObject({ name: 'TimeoutError' })
    const keys = [await importSignKey(generateHmacKey().secret)]
    const sent = sendOnce(
      { keys, fetch: httpFetch },
      { method: 'POST', url: new URL('/', base), body: '{}' },
      ackResponseSchema,
      {
        timeoutMs: 50,
      },
    )
    await expect(sent).rejects.toBeInstanceOf(EdgeUnreachableError)
  })

  it('a connection cut mid-answer or refused is a failure', async () => {
    handle = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
      res.write('{"partial":')
      setTimeout(() => res.socket?.destroy(), 20)
    }
    await expect(post('/', '{}')).rejects.toThrow()
    const refused = httpFetch(new URL('http://127.0.0.1:1/'), {
      method: 'GET',
      headers: {},
      signal: AbortSignal.timeout(5_000),
    })
    await expect(refused).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })

  it('refuses a protocol other than http and https', async () => {
    const call = httpFetch(new URL('ftp://127.0.0.1/'), {
      method: 'GET',
      headers: {},
      signal: AbortSignal.timeout(1_000),
    })
    await expect(call).rejects.toThrow(/unsupported protocol/)
  })
})
