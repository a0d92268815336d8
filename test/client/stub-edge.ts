/**
 * A real HTTP server on 127.0.0.1 that records every request byte for byte and answers the way
 * the edge does (202 EventAccepted, 200 EventStatus, problem+json), scripted per test.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { EventState, EventStatus } from '../../protocol/wire.ts'

/** One request as it arrived. */
export interface RecordedRequest {
  method: string
  /** Path and query, as sent. */
  path: string
  headers: Record<string, string>
  body: string
}

/** What the stub answers. */
export interface StubAnswer {
  status: number
  /** Sent as JSON (problem+json from 400 up). */
  body?: unknown
  /** Sent as it is instead of `body`, e.g. a proxy's HTML error page. */
  text?: string
  headers?: Record<string, string>
}

export type StubHandler = (request: RecordedRequest, index: number) => StubAnswer | Promise<StubAnswer>

/** A running stub edge. */
export interface StubEdge {
  url: string
  requests: RecordedRequest[]
  close: () => Promise<void>
}

/** Start the stub on a free port; close it in `afterEach`. */
export async function startStubEdge(handler: StubHandler): Promise<StubEdge> {
  const requests: RecordedRequest[] = []
  const server: Server = createServer(async (req, res) => {
    const recorded = await record(req)
    requests.push(recorded)
    const answer = await handler(recorded, requests.length - 1)
    const json = answer.body === undefined ? '' : JSON.stringify(answer.body)
    res.writeHead(answer.status, {
      ...(json ? { 'content-type': answer.status >= 400 ? 'application/problem+json' : 'application/json' } : {}),
      ...answer.headers,
    })
    res.end(answer.text ?? json)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  let closed: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    // Idempotent, so a test may close early (to make the port unreachable) and afterEach again.
    close: () =>
      (closed ??= new Promise((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      })),
  }
}

async function record(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers[name] = value
  }
  return {
    method: req.method ?? '',
    path: req.url ?? '',
    headers,
    body: Buffer.concat(chunks).toString('utf8'),
  }
}

/** Answers by method, in order; the last answer of a method repeats. */
export function scripted(answers: { POST?: StubHandler[]; GET?: StubHandler[] }): StubHandler {
  const used = { POST: 0, GET: 0 }
  return (request, index) => {
    const method = request.method as 'POST' | 'GET'
    const list = answers[method]
    if (!list || list.length === 0) return problem(405, 'method-not-allowed', 'Method not allowed', method)
    const answer = list[Math.min(used[method]++, list.length - 1)]
    return answer(request, index)
  }
}

/** The 202 of an accepted event. */
export const accepted =
  (id = 'evt_1', sequence = 7): StubHandler =>
  (request) => {
    const { cluster } = JSON.parse(request.body) as { cluster: string }
    return { status: 202, body: { id, cluster, sequence, status: 'queued' } }
  }

/** An EventStatus answer in `state`. */
export const status =
  (state: EventState, extra: Partial<EventStatus> = {}): StubHandler =>
  (request) => {
    const [, , , cluster, , id] = request.path.split('/')
    const body: EventStatus = {
      id: decodeURIComponent(id),
      cluster,
      sequence: 7,
      name: 'deploy',
      coalesce: true,
      status: state,
      enqueuedAt: '2025-01-01T00:00:00.000Z',
      ...(state === 'queued' ? {} : { settledAt: '2025-01-01T00:00:01.000Z' }),
      ...extra,
    }
    return { status: 200, body }
  }

/** An RFC 9457 problem as the edge writes it. */
export const problem = (
  status: number,
  slug: string,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): StubAnswer => ({
  status,
  body: { type: `urn:serf-edge:problem:${slug}`, title, status, detail },
  headers,
})
