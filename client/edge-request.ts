/**
 * The SDK's retry policy around one signed attempt (protocol/edge-request.ts): network errors,
 * 5xx and 429 are tried again with jittered backoff, honouring `Retry-After`. A POST keeps its
 * `webhook-id` across attempts, so the edge's idempotency makes a retry safe even when the first
 * attempt was queued and only its answer got lost.
 */
import type { z } from 'zod'
import {
  type EdgeAnswer,
  type EdgeResponse,
  type EdgeSigner,
  readAnswer,
  type SignedRequest,
  signedAttempt,
} from '../protocol/edge-request.ts'
import { EdgeProblemError, EdgeUnreachableError } from '../protocol/problem.ts'
import { backoffDelay, sleep } from '../protocol/timing.ts'

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
export interface EdgeConnection extends EdgeSigner {
  /** Ends the call, retries and their pauses included. */
  signal: AbortSignal | undefined
  retry: Required<RetryOptions>
  /** Budget of one attempt, answer body included. */
  requestTimeoutMs: number
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 5000,
}

/**
 * Send `request` until the edge answers, and return its JSON answer, checked against `answerSchema`.
 * @throws {EdgeProblemError} the edge refused, or still failed after the last attempt
 * @throws {EdgeUnreachableError} no attempt got an answer
 * @throws the signal's reason when `connection.signal` aborts
 */
export async function sendSigned<T>(
  connection: EdgeConnection,
  request: SignedRequest,
  answerSchema: z.ZodType<T>,
): Promise<T> {
  const { retry, signal, requestTimeoutMs: timeoutMs } = connection
  const backoff = { initialMs: retry.baseDelayMs, maxMs: retry.maxDelayMs }
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted()
    let answer: EdgeAnswer
    try {
      answer = await signedAttempt(connection, request, { timeoutMs, signal })
    } catch (error) {
      if (signal?.aborted) throw error
      if (attempt >= retry.attempts) throw new EdgeUnreachableError(request.url.origin, attempt, error)
      await sleep(backoffDelay(backoff, attempt), signal)
      continue
    }
    const { response, text } = answer
    if (response.ok) return readAnswer(answer, answerSchema)
    const problem = EdgeProblemError.fromResponse(response, text)
    if (!problem.retryable || attempt >= retry.attempts) throw problem
    await sleep(Math.max(backoffDelay(backoff, attempt), retryAfterMs(response, retry.maxDelayMs)), signal)
  }
}

function retryAfterMs(response: EdgeResponse, capMs: number): number {
  const seconds = Number(response.headers.get('retry-after'))
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, capMs) : 0
}
