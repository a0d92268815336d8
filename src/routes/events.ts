/** Sender API: queue an event, read an event's status. */

import { zValidator } from '@hono/zod-validator'
import { Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { z } from 'zod'
import { sha256Hex, utf8 } from '../../protocol/bytes.ts'
import {
  eventRequestSchema,
  maxEventSize,
  serfEncodedSizeBound,
  serfEventSize,
  toSerfEvent,
} from '../../protocol/event.ts'
import { mayFire, mayUseCluster } from '../auth/scope.ts'
import { authenticateSender } from '../auth/verify.ts'
import type { AppEnv } from '../env.ts'
import { ProblemError, type ProblemType } from '../problem.ts'
import { clusterOf, limitBody, queueOf, requireJson } from './middleware.ts'

/** Turn a schema failure into one problem listing every issue. */
export function invalidBody(type: ProblemType) {
  return (result: { success: boolean; error?: { issues: readonly z.core.$ZodIssue[] } }) => {
    if (result.success || !result.error) return
    const errors = result.error.issues.map((issue) => ({
      field: issue.path.join('.') || '(body)',
      message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
    }))
    throw new ProblemError(type, errors.map((e) => `${e.field}: ${e.message}`).join('; '), {
      extensions: { errors },
    })
  }
}

const sender = createMiddleware<AppEnv>(async (c, next) => {
  c.set('sender', await authenticateSender(c, c.get('config')))
  await next()
})

export const eventRoutes = new Hono<AppEnv>()

eventRoutes.post(
  '/:cluster/events',
  limitBody,
  requireJson,
  sender,
  zValidator('json', eventRequestSchema, invalidBody('invalid-event')),
  async (c) => {
    const settings = clusterOf(c)
    const body = c.req.valid('json')
    const who = c.get('sender')
    if (body.cluster !== settings.id) {
      throw new ProblemError(
        'cluster-mismatch',
        `body names cluster "${body.cluster}" but the request went to "${settings.id}"`,
      )
    }
    if (!mayUseCluster(who, settings.id)) {
      throw new ProblemError('forbidden', `sender "${who.id}" may not send to cluster "${settings.id}"`)
    }
    if (!mayFire(who, body.name)) {
      throw new ProblemError('forbidden', `sender "${who.id}" may not fire event "${body.name}"`)
    }
    const event = toSerfEvent(body)
    const limit = settings.userEventSizeLimit
    if (serfEncodedSizeBound(event) > limit) {
      const size = serfEventSize(event)
      const maxSize = maxEventSize(limit, utf8(body.name).length)
      throw new ProblemError(
        'event-too-large',
        `name plus payload is ${size} bytes; cluster "${settings.id}" has a Serf user_event_size_limit of ${limit} bytes, ` +
          `which after Serf's encoding leaves room for at most ${maxSize} bytes of name plus payload`,
        { extensions: { limit, size, maxSize } },
      )
    }
    const result = await queueOf(c, settings.id).append({
      settings,
      sender: who.id,
      requestId: c.req.header('webhook-id')!,
      bodyHash: await sha256Hex(await c.req.text()),
      ...event,
    })
    if (result.kind === 'conflict') {
      throw new ProblemError(
        'request-id-reused',
        `webhook-id "${c.req.header('webhook-id')}" was already used for another body (event ${result.eventId})`,
      )
    }
    if (result.kind === 'full') {
      throw new ProblemError(
        'queue-full',
        `cluster "${settings.id}" has ${result.queued} events waiting for its bridge (limit ${settings.maxQueuedEvents})`,
        { headers: { 'retry-after': '30' } },
      )
    }
    console.log(
      JSON.stringify({
        level: 'info',
        msg: result.replayed ? 'event retry answered' : 'event queued',
        cluster: settings.id,
        sender: who.id,
        id: result.accepted.id,
        sequence: result.accepted.sequence,
        name: body.name,
      }),
    )
    c.header('location', `/v1/clusters/${settings.id}/events/${result.accepted.id}`)
    if (result.replayed) c.header('idempotent-replayed', 'true')
    return c.json(result.accepted, 202)
  },
)

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
