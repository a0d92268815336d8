/**
 * One signed request to the edge, retried on network errors, 5xx and 429 with jittered backoff.
 * A POST keeps its `webhook-id` across attempts, so the edge's idempotency makes a retry safe
 * even when the first attempt was queued and only its answer got lost; every attempt is signed
 * again with a fresh timestamp, so a late retry is never refused as stale.
 */
import type { z } from 'zod'
import { type SignKey, signPayload } from '../protocol/signature.ts'
import { SENDER_HEADER } from '../protocol/wire.ts'
import { EdgeProblemError, EdgeUnreachableError } from './errors.ts'

/** How hard to try before giving up. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 4). */
  attempts?: number
  /** Backoff before the first retry (default 250 ms); it doubles each retry, with jitter. */
  baseDelayMs?: number
  /** Longest backoff, and the most of a `Retry-After` we honour (default 5000 ms). */
  maxDelayMs?: number
}

/** Everything a request needs besides its own method, URL and body. */
export interface EdgeConnection {
  /** Sender id for the `serf-edge-sender` header; bridges, verified by cluster, send none. */
  sender?: string
  keys: SignKey[]
  fetch: typeof fetch
  signal: AbortSignal | undefined
  retry: Required<RetryOptions>
  /** Budget of one attempt, answer body included. */
  requestTimeoutMs: number
}

/** A request to sign and send. */
export interface SignedRequest {
  method: 'GET' | 'POST'
  url: URL
  /** JSON text; when absent the signed payload is the URL's path and query. */
  body?: string
  /** `webhook-id` of every attempt; absent, each attempt takes a fresh one. */
  requestId?: string
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 5000,
}

/** A fresh Standard Webhooks message id. */
export const newRequestId = (): string => `msg_${crypto.randomUUID()}`

/**
 * Send `request` and return its JSON answer, checked against `answerSchema`.
 * @throws {EdgeProblemError} the edge refused, or still failed after the last attempt
 * @throws {EdgeUnreachableError} no attempt got an answer
 * @throws the signal's reason when `connection.signal` aborts
 */
export async function sendSigned<T>(
  connection: EdgeConnection,
  request: SignedRequest,
  answerSchema: z.ZodType<T>,
): Promise<T> {
  const { retry, signal } = connection
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted()
    let answer: { response: Response; text: string }
    try {
      answer = await attemptOnce(connection, request)
    } catch (error) {
      if (signal?.aborted) throw signal.reason
      if (attempt >= retry.attempts) {
        throw new EdgeUnreachableError(request.url.origin, attempt, error)
      }
      await sleep(backoffMs(retry, attempt), signal)
      continue
    }
    const { response, text } = answer
    if (response.ok) return parseAnswer(text, answerSchema)
    const problem = EdgeProblemError.fromResponse(response, text)
    if (!problem.retryable || attempt >= retry.attempts) throw problem
    await sleep(Math.max(backoffMs(retry, attempt), retryAfterMs(response, retry.maxDelayMs)), signal)
  }
}

async function attemptOnce(
  { sender, keys, fetch, signal, requestTimeoutMs }: EdgeConnection,
  { method, url, body, requestId }: SignedRequest,
): Promise<{ response: Response; text: string }> {
  const signed = await signPayload(keys, requestId ?? newRequestId(), body ?? url.pathname + url.search)
  const headers: Record<string, string> = {
    ...signed,
    ...(sender ? { [SENDER_HEADER]: sender } : {}),
    accept: 'application/json, application/problem+json',
  }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const timeout = AbortSignal.timeout(requestTimeoutMs)
  const response = await fetch(url, {
    method,
    headers,
    body,
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  })
  // Reading the body belongs to the attempt: a connection cut mid-answer is worth a retry.
  return { response, text: await response.text() }
}

// An answer we cannot use is the edge's fault, not the caller's: a 502, as a gateway would say.
function parseAnswer<T>(text: string, schema: z.ZodType<T>): T {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw malformed(`expected JSON, got: ${text.trim().slice(0, 200) || '(empty body)'}`, cause)
  }
  const parsed = schema.safeParse(json)
  if (parsed.success) return parsed.data
  const fields = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
  throw malformed(`unexpected answer (${fields.join('; ')})`, parsed.error)
}

function malformed(detail: string, cause: unknown): EdgeProblemError {
  return new EdgeProblemError(
    { type: 'about:blank', title: 'Malformed answer from the edge', status: 502, detail },
    { cause },
  )
}

// Equal jitter: never less than half the step, so retries from many bots spread out but still wait.
function backoffMs({ baseDelayMs, maxDelayMs }: Required<RetryOptions>, attempt: number): number {
  const step = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1))
  return step / 2 + Math.random() * (step / 2)
}

function retryAfterMs(response: Response, capMs: number): number {
  const seconds = Number(response.headers.get('retry-after'))
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, capMs) : 0
}

/** Wait `ms`, or reject with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
