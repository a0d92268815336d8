/** The bridge's side of the bridge API: signed poll, ack and release calls to the edge. */
import type { z } from 'zod'
import { type EdgeSigner, sendOnce } from '../protocol/edge-request.ts'
import type { SignKey } from '../protocol/signature.ts'
import {
  type AckRequest,
  type AckResponse,
  ackResponseSchema,
  MAX_POLL_WAIT_MS,
  type PollRequest,
  type PollResponse,
  pollResponseSchema,
  releaseResponseSchema,
} from '../protocol/wire.ts'

/** Where the edge is and how this bridge signs; `fetch` is injectable for tests. */
export interface EdgeClientOptions {
  edgeUrl: string
  cluster: string
  keys: SignKey[]
  fetch?: typeof fetch
  /** Budget of a call that is not a long-poll (the poll gets its wait on top). */
  requestTimeoutMs?: number
}

/**
 * Signed calls to `/v1/clusters/{cluster}/bridge/*`. Each call is one attempt: the bridge's
 * loop owns retries, because it must tell "edge down" from "lease lost" from "stop".
 */
export class EdgeClient {
  readonly cluster: string
  readonly #base: URL
  readonly #signer: EdgeSigner
  readonly #timeoutMs: number

  constructor(options: EdgeClientOptions) {
    this.cluster = options.cluster
    this.#base = new URL(`v1/clusters/${encodeURIComponent(options.cluster)}/bridge/`, withSlash(options.edgeUrl))
    this.#signer = { keys: options.keys, fetch: options.fetch ?? fetch }
    this.#timeoutMs = options.requestTimeoutMs ?? 15_000
  }

  /** Long-poll for events above `after`. */
  poll(request: Omit<PollRequest, 'cluster'>, signal?: AbortSignal): Promise<PollResponse> {
    // The edge holds a poll without `waitMs` for the longest wait.
    return this.#post('poll', request, pollResponseSchema, signal, request.waitMs ?? MAX_POLL_WAIT_MS)
  }

  /** Settle events up to `through`. */
  ack(request: Omit<AckRequest, 'cluster'>, signal?: AbortSignal): Promise<AckResponse> {
    return this.#post('ack', request, ackResponseSchema, signal)
  }

  /** Give the lease up. */
  async release(bridgeId: string, leaseToken: number, signal?: AbortSignal): Promise<boolean> {
    const answer = await this.#post('release', { bridgeId, leaseToken }, releaseResponseSchema, signal)
    return answer.released
  }

  #post<T>(action: string, body: object, schema: z.ZodType<T>, signal?: AbortSignal, waitMs = 0): Promise<T> {
    const request = {
      method: 'POST' as const,
      url: new URL(action, this.#base),
      body: JSON.stringify({ cluster: this.cluster, ...body }),
    }
    return sendOnce(this.#signer, request, schema, { timeoutMs: this.#timeoutMs + waitMs, signal })
  }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`
}
