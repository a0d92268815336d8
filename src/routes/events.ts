/** Sender API: queue an event, read an event's status. */

import { type Context, Hono } from 'hono'
import type { z } from 'zod'
import { sha256Hex } from '../../protocol/bytes.ts'
import { type EventRequest, eventRequestSchema, toSerfEvent } from '../../protocol/event.ts'
import { mayUseCluster } from '../auth/scope.ts'
import type { ClusterSettings } from '../config.ts'
import { enqueueEvent, type Principal, refuseAttempt } from '../enqueue.ts'
import type { AppEnv } from '../env.ts'
import { ProblemError, type ProblemType } from '../problem.ts'
import { clusterOf, limitBody, queueOf, requireJson, sender, senderPrincipal } from './middleware.ts'

/** One problem listing every issue of a schema failure. */
export function invalidProblem(type: ProblemType, issues: readonly z.core.$ZodIssue[]): ProblemError {
  const errors = issues.map((issue) => ({
    field: issue.path.join('.') || '(body)',
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }))
  return new ProblemError(type, errors.map((e) => `${e.field}: ${e.message}`).join('; '), { extensions: { errors } })
}

/** A validator hook that throws {@link invalidProblem} on a schema failure. */
export function invalidBody(type: ProblemType) {
  return (result: { success: boolean; error?: { issues: readonly z.core.$ZodIssue[] } }) => {
    if (!result.success && result.error) throw invalidProblem(type, result.error.issues)
  }
}

/**
 * The request's event, validated. A body that is no event is refused and, since its sender is
 * known by now, goes into the audit trail.
 * @throws {ProblemError} malformed-json, invalid-event or cluster-mismatch
 */
async function readEvent(c: Context<AppEnv>, cluster: ClusterSettings, principal: Principal): Promise<EventRequest> {
  let json: unknown
  try {
    json = await c.req.json()
  } catch (cause) {
    throw new ProblemError('malformed-json', 'request body is not valid JSON', { cause })
  }
  const parsed = eventRequestSchema.safeParse(json)
  if (!parsed.success) {
    const name = (json as { name?: unknown } | null)?.name
    const attempt = { principal, cluster, name: typeof name === 'string' ? name.slice(0, 128) : undefined }
    return refuseAttempt(c.env, attempt, invalidProblem('invalid-event', parsed.error.issues))
  }
  if (parsed.data.cluster !== cluster.id) {
    const detail = `body names cluster "${parsed.data.cluster}" but the request went to "${cluster.id}"`
    return refuseAttempt(
      c.env,
      { principal, cluster, name: parsed.data.name },
      new ProblemError('cluster-mismatch', detail),
    )
  }
  return parsed.data
}

export const eventRoutes = new Hono<AppEnv>()

eventRoutes.post('/:cluster/events', limitBody, requireJson, sender, async (c) => {
  const cluster = clusterOf(c)
  const principal = senderPrincipal(c.get('sender'))
  const body = await readEvent(c, cluster, principal)
  const { accepted, replayed } = await enqueueEvent(c.env, {
    principal,
    cluster,
    event: toSerfEvent(body),
    requestId: c.req.header('webhook-id')!,
    bodyHash: await sha256Hex(new Uint8Array(await c.req.arrayBuffer())),
  })
  c.header('location', `/v1/clusters/${cluster.id}/events/${accepted.id}`)
  if (replayed) c.header('idempotent-replayed', 'true')
  return c.json(accepted, 202)
})

eventRoutes.get('/:cluster/events/:id', sender, async (c) => {
  const settings = clusterOf(c)
  const who = c.get('sender')
  if (!mayUseCluster(who, settings.id)) {
    throw new ProblemError('forbidden', `sender "${who.id}" may not read cluster "${settings.id}"`)
  }
  const id = c.req.param('id')
  const status = await queueOf(c, settings.id).status(settings, who.id, id)
  if (!status) {
    throw new ProblemError(
      'unknown-event',
      `no event "${id}" of sender "${who.id}" in cluster "${settings.id}" (unknown, or pruned after retention)`,
    )
  }
  return c.json(status)
})
