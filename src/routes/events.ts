/** Sender API: queue an event, read an event's status. */

import { Hono } from 'hono'
import { eventRequestSchema, toSerfEvent } from '../../protocol/event.ts'
import { enqueueEvent } from '../enqueue.ts'
import type { AppEnv } from '../env.ts'
import { ProblemError } from '../problem.ts'
import { readAttempt } from './body.ts'
import {
  acceptedAnswer,
  clusterOf,
  limitBody,
  queueOf,
  readableCluster,
  requestKey,
  requireJson,
  sender,
  senderPrincipal,
} from './middleware.ts'

export const eventRoutes = new Hono<AppEnv>()

eventRoutes.post('/:cluster/events', limitBody, requireJson, sender, async (c) => {
  const cluster = clusterOf(c)
  const principal = senderPrincipal(c.get('sender'))
  const body = await readAttempt(c, eventRequestSchema, 'invalid-event', cluster, principal)
  const result = await enqueueEvent(c.env, { principal, cluster, event: toSerfEvent(body), ...(await requestKey(c)) })
  return acceptedAnswer(c, 'events', result, cluster.id)
})

eventRoutes.get('/:cluster/events/:id', sender, async (c) => {
  const { cluster: settings, who } = readableCluster(c)
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
