/**
 * The bridge's side of the bridge API: signed calls to the edge for events (poll, ack,
 * release), queries (poll, records) and the members report.
 */
import { z } from 'zod'
import { type EdgeFetch, type EdgeSigner, sendOnce } from '../protocol/edge-request.ts'
import {
  type MembersReport,
  type QueryPollRequest,
  type QueryPollResponse,
  type QueryRecordsRequest,
  type QueryState,
  queryPollResponseSchema,
  queryRecordsResponseSchema,
} from '../protocol/query.ts'
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
import { httpFetch } from './edge-http.ts'

/** Where the edge is and how this bridge signs; `fetch` is injectable for tests. */
export interface EdgeClientOptions {
  edgeUrl: string
  cluster: string
  keys: SignKey[]
  /** Default `node:http`/`node:https` ({@link httpFetch}); the global `fetch` also fits. */
  fetch?: EdgeFetch
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
    this.#signer = { keys: options.keys, fetch: options.fetch ?? httpFetch }
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

  /** Long-poll for queries to run under the lease `leaseToken`. */
  pollQueries(request: Omit<QueryPollRequest, 'cluster'>, signal?: AbortSignal): Promise<QueryPollResponse> {
    const waitMs = request.waitMs ?? MAX_POLL_WAIT_MS
    return this.#post('queries/poll', request, queryPollResponseSchema, signal, waitMs)
  }

  /**
   * Relay records of a running query, in Serf's order; records sent again with the same `index`
   * change nothing. Resolves with the query's state at the edge.
   */
  async queryRecords(
    queryId: string,
    request: Omit<QueryRecordsRequest, 'cluster'>,
    signal?: AbortSignal,
  ): Promise<QueryState> {
    const path = `queries/${encodeURIComponent(queryId)}/records`
    return (await this.#post(path, request, queryRecordsResponseSchema, signal)).state
  }

  /** Report the cluster's members as the agent sees them. */
  async reportMembers(request: Omit<MembersReport, 'cluster'>, signal?: AbortSignal): Promise<void> {
    // The contract leaves the answer's fields open: any JSON object means the report was taken.
    await this.#post('members', request, z.object({}), signal)
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
