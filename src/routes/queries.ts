/**
 * Queries API: a sender asks a Serf query and reads its answers as they arrive; the bridge
 * polls for queries to run and relays the records of Serf's query stream.
 */

import { zValidator } from '@hono/zod-validator'
import { Hono } from 'hono'
import { sha256Hex } from '../../protocol/bytes.ts'
import {
  type QueryPollResponse,
  queryPollRequestSchema,
  queryRecordsRequestSchema,
  queryRequestSchema,
} from '../../protocol/query.ts'
import { describeQuerySizeExcess, toSerfQuery } from '../../protocol/query-rules.ts'
import { mayUseCluster } from '../auth/scope.ts'
import type { SenderConfig } from '../config.ts'
import { refuseAttempt } from '../enqueue.ts'
import type { AppEnv } from '../env.ts'
import { ProblemError } from '../problem.ts'
import { invalidBody, readAttempt } from './body.ts'
import { bridgeGuard, leaseLostProblem, sameCluster } from './bridge-guard.ts'
import { clusterOf, limitBody, MAX_BODY_BYTES, queueOf, requireJson, sender, senderPrincipal } from './middleware.ts'

/** Largest records batch: up to 1,000 records, a few answers of the largest size each. */
const MAX_RECORDS_BODY_BYTES = 1024 * 1024

/** Whether `who` may ask a query called `name`: its own `queries` patterns, none by default. */
const mayQuery = (who: SenderConfig, name: string): boolean => who.queries.some((pattern) => pattern.test(name))

export const queryRoutes = new Hono<AppEnv>()

queryRoutes.post('/:cluster/queries', limitBody, requireJson, sender, async (c) => {
  const cluster = clusterOf(c)
  const who = c.get('sender')
  const principal = senderPrincipal(who)
  const query = toSerfQuery(await readAttempt(c, queryRequestSchema, 'invalid-request', cluster, principal))
  const payloadSha256 = await sha256Hex(new Uint8Array(query.payload))
  const refuse = (problem: ProblemError) =>
    refuseAttempt(c.env, { principal, cluster, name: query.name, payloadSha256 }, problem)
  if (!mayUseCluster(who, cluster.id)) {
    return refuse(new ProblemError('forbidden', `sender "${who.id}" may not send to cluster "${cluster.id}"`))
  }
  if (!mayQuery(who, query.name)) {
    return refuse(
      new ProblemError(
        'forbidden',
        `sender "${who.id}" may not ask query "${query.name}" (see its "queries" patterns)`,
      ),
    )
  }
  const requestId = c.req.header('webhook-id')!
  const result = await queueOf(c, cluster.id).submitQuery(cluster, {
    sender: who.id,
    requestId,
    bodyHash: await sha256Hex(new Uint8Array(await c.req.arrayBuffer())),
    query,
    audit: { door: 'api', payloadSha256 },
  })
  if (result.kind === 'conflict') {
    const detail = `request id "${requestId}" was already used for another body (query ${result.queryId})`
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
      cluster: cluster.id,
      principal: who.id,
      id: accepted.id,
      name: query.name,
    }),
  )
  c.header('location', `/v1/clusters/${cluster.id}/queries/${accepted.id}`)
  if (replayed) c.header('idempotent-replayed', 'true')
  return c.json(accepted, 202)
})

queryRoutes.get('/:cluster/queries/:id', sender, async (c) => {
  const cluster = clusterOf(c)
  const who = c.get('sender')
  if (!mayUseCluster(who, cluster.id)) {
    throw new ProblemError('forbidden', `sender "${who.id}" may not read cluster "${cluster.id}"`)
  }
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
    const body = c.req.valid('json')
    const settings = sameCluster(c, body.cluster)
    const result = await queueOf(c, settings.id).pollQueries({ settings, ...body })
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
