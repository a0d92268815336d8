/** Audit API: read a cluster's trail of attempts, for senders allowed to audit that cluster. */
import { Hono } from 'hono'
import { z } from 'zod'
import { MAX_AUDIT_PAGE } from '../../protocol/audit.ts'
import { mayAudit } from '../auth/scope.ts'
import type { AppEnv } from '../env.ts'
import { ProblemError } from '../problem.ts'
import { invalidProblem } from './body.ts'
import { clusterOf, queueOf, sender } from './middleware.ts'

const querySchema = z.strictObject({
  since: z
    .string()
    .refine((text) => !Number.isNaN(Date.parse(text)), { error: 'since must be an ISO 8601 time' })
    .optional(),
  principal: z.string().min(1).max(256).optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE).default(100),
})

export const auditRoutes = new Hono<AppEnv>()

auditRoutes.get('/:cluster/audit', sender, async (c) => {
  const cluster = clusterOf(c)
  const who = c.get('sender')
  if (!mayAudit(who, cluster.id)) {
    throw new ProblemError('forbidden', `sender "${who.id}" may not read the audit trail of cluster "${cluster.id}"`)
  }
  const parsed = querySchema.safeParse(c.req.query())
  if (!parsed.success) throw invalidProblem('invalid-request', parsed.error.issues)
  const { since, ...query } = parsed.data
  const page = await queueOf(c, cluster.id).readAudit(cluster, {
    ...query,
    ...(since ? { sinceMs: Date.parse(since) } : {}),
  })
  return c.json(page)
})
