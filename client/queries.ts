/**
 * The sender SDK for Serf queries and members: ask a query and read its acks and responses as
 * they arrive, as `serf query` streams them; read the members the bridge last reported.
 */
import { fromBase64, toBase64, utf8 } from '../protocol/bytes.ts'
import { newRequestId } from '../protocol/edge-request.ts'
import {
  type MembersSnapshot,
  membersSnapshotSchema,
  type QueryAccepted,
  type QueryStatus,
  queryAcceptedSchema,
  queryRequestSchema,
  queryStatusSchema,
} from '../protocol/query.ts'
import { checkQuerySize, MAX_QUERY_SIZE_LIMIT, toSerfQuery } from '../protocol/query-rules.ts'
import { sleep } from '../protocol/timing.ts'
import { sendSigned } from './edge-request.ts'
import { ClientConfigError } from './errors.ts'
import { clusterUrl, connect, type EdgeOptions } from './sdk.ts'

/** The query was refused locally, before anything was sent, because the edge would refuse it. */
export class QueryValidationError extends Error {
  override name = 'QueryValidationError'
}

/** Options of {@link askQuery}: `serf query [-node] [-tag] [-timeout] [-no-ack] [-relay-factor] name [payload]`. */
export interface AskQueryOptions extends EdgeOptions {
  name: string
  /** Text is sent as UTF-8; bytes are sent exactly, as base64 on the wire. */
  payload?: string | Uint8Array
  /** Only these nodes answer. */
  nodes?: string[]
  /** Only nodes whose tag matches the regular expression (Go's syntax, unanchored) answer. */
  tags?: Record<string, string>
  /** How long nodes may answer, 100 ms to 5 min (default: Serf's own, a few seconds). */
  timeoutMs?: number
  /** Ask nodes to ack receipt (default true, as `serf query`). */
  requestAck?: boolean
  /** Extra copies of each answer relayed through other nodes, 0 to 5 (default 0). */
  relayFactor?: number
  /** The `webhook-id` and idempotency key; reuse it to retry safely (default `msg_<uuid>`). */
  requestId?: string
}

/** Options of {@link query}. */
export interface QueryOptions extends AskQueryOptions {
  /** Pause between status reads while the query waits or runs (default 500 ms). */
  pollIntervalMs?: number
  /** Called once the edge queued the query, before any record. */
  onAccepted?: (accepted: QueryAccepted) => void
}

/** One record of a query as it comes: a node's ack, a node's response, then the end. */
export type QueryEvent =
  | { type: 'ack'; node: string; at: string }
  | {
      type: 'response'
      node: string
      at: string
      payload: Uint8Array
      /** The payload as text, when it is UTF-8. */
      text?: string
    }
  | {
      type: 'done'
      /** `done`: the deadline passed (not "everyone answered"); `expired`, `failed`: see `error`. */
      state: 'done' | 'expired' | 'failed'
      error?: string
      /** The final status, every answer included. */
      status: QueryStatus
    }

const acceptedAnswer = queryAcceptedSchema.loose()
const statusAnswer = queryStatusSchema.loose()

/**
 * Ask a query: validated here, signed, sent, retried with the same request id until the edge
 * answers. Resolves once the query is queued; read its answers with {@link getQueryStatus}.
 * @throws {QueryValidationError} the edge would refuse this query; nothing was sent
 * @throws {EdgeProblemError} the edge refused it (4xx), or failed (5xx/429) on every attempt
 * @throws {EdgeUnreachableError} no attempt got an answer
 */
export async function askQuery(options: AskQueryOptions): Promise<QueryAccepted> {
  const url = clusterUrl(options, 'queries')
  const body = queryBody(options)
  const connection = await connect(options)
  return sendSigned(
    connection,
    { method: 'POST', url, body, requestId: options.requestId ?? newRequestId() },
    acceptedAnswer,
  )
}

/**
 * Read a query's state and every answer so far.
 * @throws {EdgeProblemError} e.g. 404 for a query of another sender, or one pruned after retention
 * @throws {EdgeUnreachableError}
 */
export async function getQueryStatus(options: EdgeOptions & { id: string }): Promise<QueryStatus> {
  if (!options.id) throw new ClientConfigError('a query id is required')
  const url = clusterUrl(options, `queries/${encodeURIComponent(options.id)}`)
  return sendSigned(await connect(options), { method: 'GET', url }, statusAnswer)
}

/**
 * Ask a query and yield each node's ack and response once, as they reach the edge, then `done`
 * with the final state. The query ends when its deadline passes: nodes that had not answered by
 * then never will.
 * @example
 * for await (const record of query({ ...edge, name: 'uptime', timeoutMs: 5000 })) {
 *   if (record.type === 'response') console.log(record.node, record.text)
 *   if (record.type === 'done') console.log(record.state, record.status.totals)
 * }
 * @throws {QueryValidationError} on the first step, before anything was sent
 * @throws {EdgeProblemError}
 * @throws {EdgeUnreachableError}
 */
export async function* query(options: QueryOptions): AsyncGenerator<QueryEvent, void, undefined> {
  const accepted = await askQuery(options)
  options.onAccepted?.(accepted)
  const connection = await connect(options)
  const url = clusterUrl(options, `queries/${encodeURIComponent(accepted.id)}`)
  // Serf takes one ack and one response per node; the edge's order is the bridge's.
  const acked = new Set<string>()
  const answered = new Set<string>()
  for (;;) {
    const status = await sendSigned(connection, { method: 'GET', url }, statusAnswer)
    for (const ack of status.acks) {
      if (acked.has(ack.node)) continue
      acked.add(ack.node)
      yield { type: 'ack', node: ack.node, at: ack.at }
    }
    for (const response of status.responses) {
      if (answered.has(response.node)) continue
      answered.add(response.node)
      const payload = response.payload !== undefined ? utf8(response.payload) : fromBase64(response.payloadBase64 ?? '')
      yield { type: 'response', node: response.node, at: response.at, payload, text: response.payload }
    }
    if (status.state === 'done' || status.state === 'expired' || status.state === 'failed') {
      yield { type: 'done', state: status.state, error: status.error, status }
      return
    }
    await sleep(options.pollIntervalMs ?? 500, options.signal)
  }
}

/**
 * The cluster's members as the bridge last reported them, with the report's age.
 * @example
 * const { members, ageMs, bridgeId } = await members(edge)
 * @throws {EdgeProblemError} `members-not-reported` (404) before any bridge reported
 * @throws {EdgeUnreachableError}
 */
export async function members(options: EdgeOptions): Promise<MembersSnapshot> {
  return sendSigned(
    await connect(options),
    { method: 'GET', url: clusterUrl(options, 'members') },
    membersSnapshotSchema.loose(),
  )
}

/** The JSON body of the query, checked with the edge's own schema and Serf's largest size limit. */
function queryBody(options: AskQueryOptions): string {
  const { cluster, name, payload, nodes, tags, timeoutMs, requestAck, relayFactor } = options
  const body = {
    cluster,
    name,
    ...(typeof payload === 'string' ? { payload } : {}),
    ...(payload instanceof Uint8Array ? { payloadBase64: toBase64(payload) } : {}),
    ...(nodes?.length ? { nodes } : {}),
    ...(tags && Object.keys(tags).length > 0 ? { tags } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(requestAck !== undefined ? { requestAck } : {}),
    ...(relayFactor !== undefined ? { relayFactor } : {}),
  }
  const parsed = queryRequestSchema.safeParse(body)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'query'}: ${issue.message}`)
    throw new QueryValidationError(issues.join('; '))
  }
  // The cluster's limit and its members are the edge's to check; past Serf's largest limit no cluster can take it.
  const excess = checkQuerySize(toSerfQuery(parsed.data), MAX_QUERY_SIZE_LIMIT, 0)
  if (excess) {
    throw new QueryValidationError(
      `query encodes to ${excess.size} bytes in Serf's gossip message even before the source node's name; ` +
        `no query over ${MAX_QUERY_SIZE_LIMIT} bytes reaches other nodes (room for ${excess.maxPayload} bytes ` +
        'of payload with this name and these filters)',
    )
  }
  return JSON.stringify(body)
}
