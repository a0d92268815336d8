/** The bridge's side of the bridge API: signed poll, ack and release calls to the edge. */
import { z } from 'zod'
import { type EdgeConnection, sendSigned } from '../client/edge-request.ts'
import type { SignKey } from '../protocol/signature.ts'
import type { AckRequest, AckResponse, PollRequest, PollResponse } from '../protocol/wire.ts'

export { EdgeProblemError, EdgeUnreachableError } from '../client/errors.ts'

const leaseSchema = z.object({
  token: z.number(),
  bridgeId: z.string(),
  expiresAt: z.string(),
  ttlMs: z.number(),
})

const pollSchema: z.ZodType<PollResponse> = z.object({
  lease: leaseSchema,
  events: z.array(
    z.object({
      sequence: z.number(),
      id: z.string(),
      name: z.string(),
      payloadBase64: z.string(),
      coalesce: z.boolean(),
      enqueuedAt: z.string(),
    }),
  ),
  settledThrough: z.number(),
  backlog: z.number(),
})

const ackSchema: z.ZodType<AckResponse> = z.object({
  delivered: z.number(),
  rejected: z.number(),
  settledThrough: z.number(),
})

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
  readonly #keys: SignKey[]
  readonly #fetch: typeof fetch
  readonly #timeoutMs: number

  constructor(options: EdgeClientOptions) {
    this.cluster = options.cluster
    this.#base = new URL(`v1/clusters/${encodeURIComponent(options.cluster)}/bridge/`, withSlash(options.edgeUrl))
    this.#keys = options.keys
    this.#fetch = options.fetch ?? fetch
    this.#timeoutMs = options.requestTimeoutMs ?? 15_000
  }

  /** Long-poll for events above `after`. */
  poll(request: Omit<PollRequest, 'cluster'>, signal?: AbortSignal): Promise<PollResponse> {
    return this.#post('poll', request, pollSchema, signal, request.waitMs ?? 0)
  }

  /** Settle events up to `through`. */
  ack(request: Omit<AckRequest, 'cluster'>, signal?: AbortSignal): Promise<AckResponse> {
    return this.#post('ack', request, ackSchema, signal)
  }

  /** Give the lease up. */
  async release(bridgeId: string, leaseToken: number, signal?: AbortSignal): Promise<boolean> {
    const answer = await this.#post('release', { bridgeId, leaseToken }, z.object({ released: z.boolean() }), signal)
    return answer.released
  }

  #post<T>(action: string, body: object, schema: z.ZodType<T>, signal?: AbortSignal, waitMs = 0): Promise<T> {
    const connection: EdgeConnection = {
      keys: this.#keys,
      fetch: this.#fetch,
      signal,
      retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
      requestTimeoutMs: this.#timeoutMs + waitMs,
    }
    const text = JSON.stringify({ cluster: this.cluster, ...body })
    return sendSigned(connection, { method: 'POST', url: new URL(action, this.#base), body: text }, schema)
  }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`
}
