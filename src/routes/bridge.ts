/** Bridge API: long-poll for events, acknowledge them, release the lease. */

import { zValidator } from '@hono/zod-validator'
import { Hono } from 'hono'
import {
  type AckResponse,
  ackRequestSchema,
  type PollResponse,
  pollRequestSchema,
  type ReleaseResponse,
  releaseRequestSchema,
} from '../../protocol/wire.ts'
import type { AppEnv } from '../env.ts'
import { ProblemError } from '../problem.ts'
import type { PollResult } from '../queue/cluster-queue.ts'
import { waitForAnswer } from '../queue/wake-socket.ts'
import { invalidBody } from './body.ts'
import { bridgeGuard, sameCluster } from './bridge-guard.ts'
import { MAX_BODY_BYTES, queueOf } from './middleware.ts'

export const bridgeRoutes = new Hono<AppEnv>()
const guard = bridgeGuard(MAX_BODY_BYTES)

bridgeRoutes.post(
  '/:cluster/bridge/poll',
  ...guard,
  zValidator('json', pollRequestSchema, invalidBody('invalid-request')),
  async (c) => {
    const { waitMs, ...body } = c.req.valid('json')
    const settings = sameCluster(c, body.cluster)
    const queue = queueOf(c, settings.id)
    let result = await queue.poll({ settings, ...body })
    if (result.kind === 'events' && result.events.length === 0 && waitMs > 0) {
      // The Worker waits, not the object (wake-socket.ts). A lease shorter than the wait would
      // lapse under a waiting holder; the answer after the wait renews it.
      const wait = Math.min(waitMs, settings.leaseTtlMs / 2)
      result =
        (await waitForAnswer<PollResult>(queue, { lane: 'events', ...body }, wait)) ??
        (await queue.poll({ settings, ...body }))
    }
    if (result.kind === 'standby') {
      throw new ProblemError(
        'lease-held',
        `bridge "${result.holder}" holds the lease of cluster "${settings.id}"; stand by`,
        {
          extensions: { holder: result.holder, retryAfterMs: result.retryAfterMs },
          headers: { 'retry-after': String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))) },
        },
      )
    }
    const { kind: _, ...page } = result
    return c.json(page satisfies PollResponse)
  },
)

bridgeRoutes.post(
  '/:cluster/bridge/ack',
  ...guard,
  zValidator('json', ackRequestSchema, invalidBody('invalid-request')),
  async (c) => {
    const body = c.req.valid('json')
    const settings = sameCluster(c, body.cluster)
    const result = await queueOf(c, settings.id).ack({ settings, ...body })
    if (result.kind === 'lease-lost') {
      throw new ProblemError(
        'lease-lost',
        `lease token ${body.leaseToken} is no longer current for cluster "${settings.id}"` +
          (result.holder ? `; bridge "${result.holder}" holds it now` : ''),
        { extensions: { holder: result.holder } },
      )
    }
    if (result.kind === 'invalid') throw new ProblemError('invalid-request', result.detail)
    console.log(
      JSON.stringify({
        level: 'info',
        msg: 'events acknowledged',
        cluster: settings.id,
        bridgeId: body.bridgeId,
        through: body.through,
        delivered: result.delivered,
        rejected: result.rejected,
      }),
    )
    const { kind: _, ...answer } = result
    return c.json(answer satisfies AckResponse)
  },
)

bridgeRoutes.post(
  '/:cluster/bridge/release',
  ...guard,
  zValidator('json', releaseRequestSchema, invalidBody('invalid-request')),
  async (c) => {
    const body = c.req.valid('json')
    const settings = sameCluster(c, body.cluster)
    const released = await queueOf(c, settings.id).release(body.bridgeId, body.leaseToken)
    return c.json({ released } satisfies ReleaseResponse)
  },
)
