/**
 * One signed attempt at the edge: Standard Webhooks headers, a time budget for the whole
 * exchange, the answer read and checked against its schema. No retry here: the SDK retries
 * (client/edge-request.ts), the bridge's loop decides for itself what a failure means.
 */
import type { z } from 'zod'
import { EdgeProblemError, EdgeUnreachableError } from './problem.ts'
import { type SignKey, signPayload } from './signature.ts'
import { SENDER_HEADER } from './wire.ts'

/** What an attempt reads of an answer; a `fetch` Response is one. */
export interface EdgeResponse {
  readonly ok: boolean
  readonly status: number
  readonly statusText: string
  readonly headers: { get(name: string): string | null }
  text(): Promise<string>
}

/** What an attempt hands to {@link EdgeFetch}. */
export interface EdgeFetchInit {
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body?: string
  signal: AbortSignal
}

/**
 * How an attempt travels: the global `fetch` (the SDK's default) or anything that answers these
 * calls as it does (the bridge's `node:http` transport, agent-bridge/edge-http.ts).
 */
export type EdgeFetch = (url: URL, init: EdgeFetchInit) => Promise<EdgeResponse>

/** Who signs, and how requests travel. */
export interface EdgeSigner {
  /** Sender id for the `serf-edge-sender` header; bridges, verified by cluster, send none. */
  sender?: string
  keys: SignKey[]
  fetch: EdgeFetch
}

/** A request to sign and send. */
export interface SignedRequest {
  method: 'GET' | 'POST'
  url: URL
  /** JSON text; when absent the signed payload is the URL's path and query. */
  body?: string
  /** `webhook-id`; absent, each attempt takes a fresh one. */
  requestId?: string
}

/** The limits of one attempt. */
export interface AttemptOptions {
  /** Budget of the attempt, answer body included. */
  timeoutMs: number
  /** Ends the attempt; it then rejects with the signal's reason. */
  signal?: AbortSignal
}

/** What came back: the response and its whole body. */
export interface EdgeAnswer {
  response: EdgeResponse
  text: string
}

/** A fresh Standard Webhooks message id. */
export const newRequestId = (): string => `msg_${crypto.randomUUID()}`

/**
 * Sign and send `request` once; return its JSON answer, checked against `answerSchema`.
 * @example
 * const page = await sendOnce(signer, { method: 'POST', url, body }, pollResponseSchema, { timeoutMs: 40_000 })
 * @throws {EdgeProblemError} the edge refused or failed, or its answer is not the contract
 * @throws {EdgeUnreachableError} no answer (network error or timeout), with `attempts` 1
 * @throws the signal's reason when `options.signal` aborts
 */
export async function sendOnce<T>(
  signer: EdgeSigner,
  request: SignedRequest,
  answerSchema: z.ZodType<T>,
  options: AttemptOptions,
): Promise<T> {
  let answer: EdgeAnswer
  try {
    answer = await signedAttempt(signer, request, options)
  } catch (error) {
    if (options.signal?.aborted) throw error
    throw new EdgeUnreachableError(request.url.origin, 1, error)
  }
  return readAnswer(answer, answerSchema)
}

/**
 * Sign and send `request` once and read the whole answer, whatever its status.
 * @throws fetch's error when no answer came (network, timeout), the signal's reason on abort
 */
export async function signedAttempt(
  { sender, keys, fetch }: EdgeSigner,
  { method, url, body, requestId }: SignedRequest,
  { timeoutMs, signal }: AttemptOptions,
): Promise<EdgeAnswer> {
  // Signed per attempt, so a late retry carries a fresh timestamp and is never refused as stale.
  const signed = await signPayload(keys, requestId ?? newRequestId(), body ?? url.pathname + url.search)
  const headers: Record<string, string> = {
    ...signed,
    ...(sender ? { [SENDER_HEADER]: sender } : {}),
    accept: 'application/json, application/problem+json',
  }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const timeout = AbortSignal.timeout(timeoutMs)
  try {
    const response = await fetch(url, {
      method,
      headers,
      body,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    })
    // Reading the body belongs to the attempt: a connection cut mid-answer is no answer.
    return { response, text: await response.text() }
  } catch (error) {
    if (signal?.aborted) throw signal.reason
    throw error
  }
}

/**
 * The answer of a successful response checked against `schema`; a refusal as the edge's problem.
 * @throws {EdgeProblemError} a non-2xx status, or a 2xx body that is not the contract (as a 502)
 */
export function readAnswer<T>({ response, text }: EdgeAnswer, schema: z.ZodType<T>): T {
  if (!response.ok) throw EdgeProblemError.fromResponse(response, text)
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

// An answer we cannot use is the edge's fault, not the caller's: a 502, as a gateway would say.
function malformed(detail: string, cause: unknown): EdgeProblemError {
  return new EdgeProblemError(
    { type: 'about:blank', title: 'Malformed answer from the edge', status: 502, detail },
    { cause },
  )
}
