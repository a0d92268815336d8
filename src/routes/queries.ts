/**
 * Queries API: a sender asks a Serf query and reads its answers as they arrive; the bridge
 * polls for queries to run and relays the records of Serf's query stream.
 */

import { zValidator } from '@hono/zod-validator'
import { Hono } from 'hono'
import {
  type QueryPollResponse,
  queryPollRequestSchema,
  queryRecordsRequestSchema,
  queryRequestSchema,
} from '../../protocol/query.ts'
import { toSerfQuery } from '../../protocol/query-rules.ts'
import { askQuery } from '../ask.ts'
import type { AppEnv } from '../env.ts'
import { ProblemError } from '../problem.ts'
import { waitForAnswer } from '../queue/wake-socket.ts'
import { invalidBody, readAttempt } from './body.ts'
import { bridgeGuard, leaseLostProblem, sameCluster } from './bridge-guard.ts'
import {
  acceptedAnswer,
  clusterOf,
  limitBody,
  MAX_BODY_BYTES,
  queueOf,
  readableCluster,
  requestKey,
  requireJson,
  sender,
  senderPrincipal,
} from './middleware.ts'

/** Largest records batch: up to 1,000 records, a few answers of the largest size each. */
const MAX_RECORDS_BODY_BYTES = 1024 * 1024

export const queryRoutes = new Hono<AppEnv>()

queryRoutes.post('/:cluster/queries', limitBody, requireJson, sender, async (c) => {
  const cluster = clusterOf(c)
  const principal = senderPrincipal(c.get('sender'))
  const query = toSerfQuery(await readAttempt(c, queryRequestSchema, 'invalid-request', cluster, principal))
  const result = await askQuery(c.env, { principal, cluster, query, ...(await requestKey(c)) })
  return acceptedAnswer(c, 'queries', result, cluster.id)
})

queryRoutes.get('/:cluster/queries/:id', sender, async (c) => {
  const { cluster, who } = readableCluster(c)
  const id = c.req.param('id')
  const status = await queueOf(c, cluster.id).queryStatus(cluster, who.id, id)
  if (!status) {
    throw new ProblemError(
      'unknown-query',
      `no query "${id}" of sender "${who.id}" in cluster "${cluster.id}" (unknown, or pruned after retention)`,
    )
  }
  return c.json(status)
})

queryRoutes.post(
  '/:cluster/bridge/queries/poll',
  ...bridgeGuard(MAX_BODY_BYTES),
  zValidator('json', queryPollRequestSchema, invalidBody('invalid-request')),
  async (c) => {
    const { waitMs, ...body } = c.req.valid('json')
    const settings = sameCluster(c, body.cluster)
    const queue = queueOf(c, settings.id)
    let result = await queue.pollQueries({ settings, ...body })
    if (result.kind === 'queries' && result.queries.length === 0 && waitMs > 0) {
      // The Worker waits, not the object (wake-socket.ts).
      await waitForAnswer(queue, { lane: 'queries' }, waitMs)
      result = await queue.pollQueries({ settings, ...body })
    }
    if (result.kind === 'lease-lost') throw leaseLostProblem(settings.id, body.leaseToken, result)
    return c.json({ queries: result.queries } satisfies QueryPollResponse)
  },
)

queryRoutes.post(
  '/:cluster/bridge/queries/:id/records',
  ...bridgeGuard(MAX_RECORDS_BODY_BYTES),
  zValidator('json', queryRecordsRequestSchema, invalidBody('invalid-request')),
  async (c) => {
    const body = c.req.valid('json')
    const settings = sameCluster(c, body.cluster)
    const id = c.req.param('id')
    const result = await queueOf(c, settings.id).appendQueryRecords({ settings, id, ...body })
    if (result.kind === 'lease-lost') throw leaseLostProblem(settings.id, body.leaseToken, result)
    if (result.kind === 'unknown')
      throw new ProblemError('unknown-query', `no query "${id}" in cluster "${settings.id}"`)
    if (result.kind === 'invalid') throw new ProblemError('invalid-request', result.detail)
    return c.json({ state: result.state })
  },
)
