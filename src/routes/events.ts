/** Sender API: queue an event, read an event's status. */

import { Hono } from 'hono'
import { sha256Hex } from '../../protocol/bytes.ts'
import { eventRequestSchema, toSerfEvent } from '../../protocol/event.ts'
import { mayUseCluster } from '../auth/scope.ts'
import { enqueueEvent } from '../enqueue.ts'
import type { AppEnv } from '../env.ts'
import { ProblemError } from '../problem.ts'
import { readAttempt } from './body.ts'
import { clusterOf, limitBody, queueOf, requireJson, sender, senderPrincipal } from './middleware.ts'

export const eventRoutes = new Hono<AppEnv>()

eventRoutes.post('/:cluster/events', limitBody, requireJson, sender, async (c) => {
  const cluster = clusterOf(c)
  const principal = senderPrincipal(c.get('sender'))
  const body = await readAttempt(c, eventRequestSchema, 'invalid-event', cluster, principal)
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
