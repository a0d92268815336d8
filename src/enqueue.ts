/**
 * The one enqueue path. Every door (the signed API today; chat-ops and the on-call page next)
 * turns its request into a principal, a cluster and an event, and calls {@link enqueueEvent}.
 * Scope, Serf's size rule, idempotency, the queue's cap and order, the audit record and the log
 * line live here only, so an event behaves the same whichever door it came through.
 */
import { sha256Hex } from '../protocol/bytes.ts'
import { checkSerfSize, describeSizeExcess, type SerfEvent } from '../protocol/event.ts'
import type { EventAccepted } from '../protocol/wire.ts'
import { mayFire, mayUseCluster, type Scope } from './auth/scope.ts'
import type { ClusterSettings } from './config.ts'
import type { Env } from './env.ts'
import { ProblemError } from './problem.ts'
import type { FollowupTarget } from './queue/followups.ts'

/** The ways in; each names itself in logs and, later, in the audit trail. */
export type Door = 'api' | 'slack' | 'discord' | 'github' | 'page'

/** Who is asking, as the enqueue path sees it, whichever door they used. */
export interface Principal {
  /** Stable id recorded with the event; status reads are answered to the same id only. */
  id: string
  door: Door
  /** How refusals name the principal, e.g. `sender "ci"`. */
  label: string
  scope: Scope
}

/** An event someone wants fired, before it is queued. */
export interface Attempt {
  principal: Principal
  cluster: ClusterSettings
  event: SerfEvent
  /** Where the request came from within its platform (a chat channel), for the audit trail. */
  channel?: string
}

/** One event to queue, with what makes a retry recognisable. */
export interface EnqueueRequest extends Attempt {
  /** Where to report the event's outcome when it settles (a chat door's reply channel). */
  followup?: FollowupTarget
  /** The door's idempotency key (the API's `webhook-id`). */
  requestId: string
  /** SHA-256 of what the door received; the same key with another body is a conflict. */
  bodyHash: string
}

/** A queued event; `replayed` when the request id was seen before with the same body. */
export interface Enqueued {
  accepted: EventAccepted
  replayed: boolean
}

/**
 * Check an attempt as queueing it would (scope, Serf's size rule) without queueing it: a door
 * that must ask for a confirmation first refuses at once what could never be fired.
 * @throws {ProblemError} forbidden or event-too-large, recorded in the audit trail
 */
export async function admitEvent(env: Pick<Env, 'CLUSTER_QUEUE'>, attempt: Attempt): Promise<void> {
  const { principal, cluster, event } = attempt
  const refuse = async (problem: ProblemError) => refuseAttempt(env, await refusedAttempt(attempt), problem)
  if (!mayUseCluster(principal.scope, cluster.id)) {
    return refuse(new ProblemError('forbidden', `${principal.label} may not send to cluster "${cluster.id}"`))
  }
  if (!mayFire(principal.scope, event.name)) {
    return refuse(new ProblemError('forbidden', `${principal.label} may not fire event "${event.name}"`))
  }
  const excess = checkSerfSize(event, cluster.userEventSizeLimit)
  if (excess) {
    return refuse(
      new ProblemError('event-too-large', describeSizeExcess(cluster.id, excess), {
        extensions: { limit: excess.limit, size: excess.size, maxSize: excess.maxSize },
      }),
    )
  }
}

/**
 * Check and queue an event in its cluster's queue.
 * @throws {ProblemError} forbidden, event-too-large, request-id-reused or queue-full; nothing
 *   is queued then
 */
export async function enqueueEvent(env: Pick<Env, 'CLUSTER_QUEUE'>, request: EnqueueRequest): Promise<Enqueued> {
  const { principal, cluster, event, channel } = request
  await admitEvent(env, request)
  const refuse = async (problem: ProblemError) => refuseAttempt(env, await refusedAttempt(request), problem)
  const queue = queueOf(env, cluster.id)
  const result = await queue.append({
    settings: cluster,
    sender: principal.id,
    requestId: request.requestId,
    bodyHash: request.bodyHash,
    ...event,
    audit: { door: principal.door, channel, payloadSha256: await payloadHash(event) },
    followup: request.followup,
  })
  if (result.kind === 'conflict') {
    return refuse(
      new ProblemError(
        'request-id-reused',
        `request id "${request.requestId}" was already used for another body (event ${result.eventId})`,
      ),
    )
  }
  if (result.kind === 'full') {
    return refuse(
      new ProblemError(
        'queue-full',
        `cluster "${cluster.id}" has ${result.queued} events waiting for its bridge (limit ${cluster.maxQueuedEvents})`,
        { headers: { 'retry-after': '30' } },
      ),
    )
  }
  console.log(
    JSON.stringify({
      level: 'info',
      msg: result.replayed ? 'event retry answered' : 'event queued',
      door: principal.door,
      cluster: cluster.id,
      principal: principal.id,
      id: result.accepted.id,
      sequence: result.accepted.sequence,
      name: event.name,
    }),
  )
  return { accepted: result.accepted, replayed: result.replayed }
}

/** What a door knows of an attempt it refuses before {@link enqueueEvent}: no valid event yet. */
export interface RefusedAttempt {
  principal: Principal
  cluster: ClusterSettings
  channel?: string
  /** The event name, when the request named one. */
  name?: string
  payloadSha256?: string
}

/**
 * Put a door's own refusal (a malformed event, a body naming another cluster) into the audit
 * trail, then throw it.
 * @throws {ProblemError} always: `problem`
 */
export async function refuseAttempt(
  env: Pick<Env, 'CLUSTER_QUEUE'>,
  attempt: RefusedAttempt,
  problem: ProblemError,
): Promise<never> {
  await queueOf(env, attempt.cluster.id).recordAttempt(attempt.cluster, {
    decision: 'refused',
    door: attempt.principal.door,
    principal: attempt.principal.id,
    channel: attempt.channel,
    name: attempt.name,
    payloadSha256: attempt.payloadSha256,
    reason: `${problem.type}: ${problem.message}`,
  })
  throw problem
}

const payloadHash = (event: SerfEvent) => sha256Hex(new Uint8Array(event.payload))

async function refusedAttempt(attempt: Attempt): Promise<RefusedAttempt> {
  const { principal, cluster, channel, event } = attempt
  return { principal, cluster, channel, name: event.name, payloadSha256: await payloadHash(event) }
}

/** The cluster's queue object. */
export function queueOf(env: Pick<Env, 'CLUSTER_QUEUE'>, cluster: string) {
  return env.CLUSTER_QUEUE.get(env.CLUSTER_QUEUE.idFromName(cluster))
}
