/** Members API: the bridge reports its agent's view of the cluster; senders read it with its age. */

import { zValidator } from '@hono/zod-validator'
import { Hono } from 'hono'
import { type MembersSnapshot, membersReportSchema } from '../../protocol/query.ts'
import type { AppEnv } from '../env.ts'
import { ProblemError } from '../problem.ts'
import { invalidBody } from './body.ts'
import { bridgeGuard, leaseLostProblem, sameCluster } from './bridge-guard.ts'
import { queueOf, readableCluster, sender } from './middleware.ts'

/** Largest members report: 10,000 members with a few tags each. */
const MAX_REPORT_BODY_BYTES = 4 * 1024 * 1024

export const memberRoutes = new Hono<AppEnv>()

memberRoutes.get('/:cluster/members', sender, async (c) => {
  const { cluster } = readableCluster(c)
  const view = await queueOf(c, cluster.id).members()
  if (!view) {
    throw new ProblemError(
      'members-not-reported',
      `no bridge has reported the members of cluster "${cluster.id}" yet; the active bridge reports them ` +
        'when it starts, on every member change and at least every minute',
    )
  }
  return c.json({
    cluster: cluster.id,
    members: view.members,
    asOf: new Date(view.reportedAt).toISOString(),
    ageMs: Math.max(0, Date.now() - view.reportedAt),
    bridgeId: view.bridgeId,
  } satisfies MembersSnapshot)
})

memberRoutes.post(
  '/:cluster/bridge/members',
  ...bridgeGuard(MAX_REPORT_BODY_BYTES),
  zValidator('json', membersReportSchema, invalidBody('invalid-request')),
  async (c) => {
    const body = c.req.valid('json')
    const settings = sameCluster(c, body.cluster)
    const result = await queueOf(c, settings.id).reportMembers({ settings, ...body })
    if (result.kind === 'lease-lost') throw leaseLostProblem(settings.id, body.leaseToken, result)
    return c.json({ members: body.members.length })
  },
)
