/**
 * The one path for queries, as enqueue.ts is for events: every door that asks a Serf query (the
 * signed API, `/serf query` in chat) turns its request into a principal, a cluster and a query
 * validated by protocol/query.ts, and calls {@link askQuery}. Scope, Serf's size rule,
 * idempotency, the lane's cap, the audit record and the log line live here only.
 */
import { sha256Hex } from '../protocol/bytes.ts'
import type { QueryAccepted } from '../protocol/query.ts'
import { describeQuerySizeExcess, type SerfQuery } from '../protocol/query-rules.ts'
import { mayAsk, mayUseCluster, type QueryScope } from './auth/scope.ts'
import type { ClusterSettings } from './config.ts'
import { type Principal, queueOf, refuseAttempt } from './enqueue.ts'
import type { Env } from './env.ts'
import { ProblemError } from './problem.ts'
import type { FollowupTarget } from './queue/followups.ts'

/** A principal whose scope says which queries it may ask. */
export interface Asker extends Principal {
  scope: QueryScope
}

/** One query to queue, with what makes a retry recognisable. */
export interface AskRequest {
  principal: Asker
  cluster: ClusterSettings
  /** Already valid for Serf but for its size, which needs the cluster's members. */
  query: SerfQuery
  /** Where the request came from within its platform (a chat channel), for the audit trail. */
  channel?: string
  /** The door's idempotency key (the API's `webhook-id`, a chat interaction's id). */
  requestId: string
  /** SHA-256 of what the door received; the same key with another body is a conflict. */
  bodyHash: string
  /** Where to report the answers once the query ends (a chat door's reply channel). */
  followup?: FollowupTarget
}

/** A queued query; `replayed` when the request id was seen before with the same body. */
export interface Asked {
  accepted: QueryAccepted
  replayed: boolean
}

/**
 * Check and queue a query in its cluster's query lane.
 * @throws {ProblemError} forbidden, query-too-large, request-id-reused or queue-full, recorded
 *   in the audit trail; nothing is queued then
 */
export async function askQuery(env: Pick<Env, 'CLUSTER_QUEUE'>, request: AskRequest): Promise<Asked> {
  const { principal, cluster, query, channel } = request
  const payloadSha256 = await sha256Hex(new Uint8Array(query.payload))
  const refuse = (problem: ProblemError) =>
    refuseAttempt(env, { principal, cluster, channel, name: query.name, payloadSha256 }, problem)
  if (!mayUseCluster(principal.scope, cluster.id)) {
    return refuse(new ProblemError('forbidden', `${principal.label} may not send to cluster "${cluster.id}"`))
  }
  if (!mayAsk(principal.scope, query.name)) {
    const detail = `${principal.label} may not ask query "${query.name}" (no "queries" pattern allows it)`
    return refuse(new ProblemError('forbidden', detail))
  }
  const result = await queueOf(env, cluster.id).submitQuery(cluster, {
    sender: principal.id,
    requestId: request.requestId,
    bodyHash: request.bodyHash,
    query,
    audit: { door: principal.door, channel, payloadSha256 },
    followup: request.followup,
  })
  if (result.kind === 'conflict') {
    const detail = `request id "${request.requestId}" was already used for another body (query ${result.queryId})`
    return refuse(new ProblemError('request-id-reused', detail))
  }
  if (result.kind === 'too-large') {
    const { excess } = result
    return refuse(
      new ProblemError('query-too-large', describeQuerySizeExcess(cluster.id, excess, result.nameFrom), {
        extensions: { limit: excess.limit, size: excess.size, maxPayload: excess.maxPayload },
      }),
    )
  }
  if (result.kind === 'full') {
    const detail = `cluster "${cluster.id}" has ${result.queued} queries waiting for a bridge to start them`
    return refuse(new ProblemError('queue-full', detail, { headers: { 'retry-after': '5' } }))
  }
  const { accepted, replayed } = result
  console.log(
    JSON.stringify({
      level: 'info',
      msg: replayed ? 'query retry answered' : 'query queued',
      door: principal.door,
      cluster: cluster.id,
      principal: principal.id,
      id: accepted.id,
      name: query.name,
    }),
  )
  return { accepted, replayed }
}
