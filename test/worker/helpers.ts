/**
 * Helpers for driving the edge inside workerd: signed sender and bridge requests, and a way
 * into a cluster's Durable Object storage.
 */
import { runInDurableObject } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { importSignKey, signPayload } from '../../protocol/signature.ts'

export const EDGE = 'https://edge.test'

let counter = 0
/** A fresh request id; tests that check idempotency pass their own. */
export const newId = (): string => `msg_${Date.now().toString(36)}_${++counter}`

export interface SignedOptions {
  sender?: string | null
  keys?: string[]
  id?: string
  timestamp?: number
  /** Sign this text instead of the body actually sent (tamper tests). */
  signAs?: string
  contentType?: string
  headers?: Record<string, string>
}

/** POST `body` (object or raw text) to `path`, signed by `sender` (default `ci`). */
export async function post(path: string, body: unknown, options: SignedOptions = {}): Promise<Response> {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  const headers = await signedHeaders(options.signAs ?? text, options)
  return exports.default.fetch(`${EDGE}${path}`, {
    method: 'POST',
    body: text,
    headers: { 'content-type': options.contentType ?? 'application/json', ...headers, ...options.headers },
  })
}

/** GET `path`, signed over the path as the edge expects. */
export async function get(path: string, options: SignedOptions = {}): Promise<Response> {
  const headers = await signedHeaders(options.signAs ?? path, options)
  return exports.default.fetch(`${EDGE}${path}`, { headers: { ...headers, ...options.headers } })
}

async function signedHeaders(payload: string, options: SignedOptions): Promise<Record<string, string>> {
  const sender = options.sender === undefined ? 'ci' : options.sender
  const secrets = options.keys ?? (sender === 'chatops' ? [env.TEST_KEYS.chatops] : [env.TEST_KEYS.ci[0]!])
  const keys = await Promise.all(secrets.map(importSignKey))
  const signed = await signPayload(keys, options.id ?? newId(), payload, options.timestamp)
  return { ...signed, ...(sender ? { 'serf-edge-sender': sender } : {}) }
}

/** Queue an event as sender `ci` and return the 202 body. */
export async function fire(cluster: string, event: Record<string, unknown>, options: SignedOptions = {}) {
  const res = await post(`/v1/clusters/${cluster}/events`, { cluster, ...event }, options)
  if (res.status !== 202) throw new Error(`expected 202, got ${res.status}: ${await res.text()}`)
  return (await res.json()) as { id: string; sequence: number; cluster: string; status: string }
}

/** A signed bridge call (`poll`, `ack`, `release`). */
export function bridge(cluster: string, action: string, body: Record<string, unknown>, options: SignedOptions = {}) {
  return post(
    `/v1/clusters/${cluster}/bridge/${action}`,
    { cluster, ...body },
    {
      sender: null,
      keys: [env.TEST_KEYS.bridge],
      ...options,
    },
  )
}

/** Read a problem answer and check its media type. */
export async function problem(res: Response) {
  if (res.headers.get('content-type') !== 'application/problem+json') {
    throw new Error(`expected a problem answer, got ${res.headers.get('content-type')}: ${await res.text()}`)
  }
  return (await res.json()) as { type: string; title: string; status: number; detail: string; [k: string]: unknown }
}

/**
 * Run `fn` on the SQLite storage of `cluster`'s Durable Object, between its requests: to see
 * the state a test waits for, or to move a stored time into the past instead of sleeping.
 * @example await inQueue('prod', (sql) => sql.exec('UPDATE lease SET expires_at = 0'))
 */
export function inQueue<T>(cluster: string, fn: (sql: SqlStorage) => T): Promise<T> {
  const stub = env.CLUSTER_QUEUE.get(env.CLUSTER_QUEUE.idFromName(cluster))
  return runInDurableObject(stub, (_, state) => fn(state.storage.sql))
}
