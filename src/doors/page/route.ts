/**
 * The on-call page door: its files under /app/ (Workers static assets, with a strict CSP) and
 * its API under /app/api/: enrolment and sign-in, what the operator may do, recent events and
 * statuses, and signed actions.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import type { Me, QuickAction } from '../../../protocol/page.ts'
import { mayUseCluster } from '../../auth/scope.ts'
import { queueOf } from '../../enqueue.ts'
import type { AppEnv } from '../../env.ts'
import { directoryOf } from '../../operators/directory.ts'
import { ProblemError } from '../../problem.ts'
import { requireJson } from '../../routes/middleware.ts'
import { actionRoutes } from './actions.ts'
import { serveAsset } from './assets.ts'
import { enrolRoutes } from './enrol.ts'
import { type PageEnv, requireSession, sameOrigin } from './session.ts'

const RECENT_EVENTS = 20

export const pageApi = new Hono<PageEnv>()

pageApi.use('*', sameOrigin, async (c, next) => {
  c.header('cache-control', 'no-store')
  await next()
})
pageApi.post('*', requireJson)
pageApi.route('/', enrolRoutes)
pageApi.route('/actions', actionRoutes)

pageApi.get('/me', requireSession, async (c) => {
  const operator = c.get('operator')
  const session = c.get('session')
  const config = c.get('config')
  const clusters = operator.clusters === '*' ? [...config.clusters.keys()] : operator.clusters
  const approvals = await directoryOf(c.env).approvalsFor(operator.id)
  const me: Me = {
    operator: operator.id,
    device: { id: session.deviceId, name: session.deviceName },
    sessionExpiresAt: new Date(session.expiresAt).toISOString(),
    actions: [...operator.actions.values()].map(({ askPattern: _, ...action }): QuickAction => action),
    custom: operator.custom ? { clusters, events: operator.eventPatterns } : null,
    clusters,
    approvals: approvals.map((a) => ({
      id: a.id,
      requester: a.requester,
      action: a.action,
      label: a.label,
      event: a.event,
      danger: a.danger,
      expiresAt: new Date(a.expiresAt).toISOString(),
    })),
  }
  return c.json(me)
})

const idSchema = z.string().regex(/^evt_[A-Za-z0-9_-]{1,64}$/)

pageApi.get('/clusters/:cluster/events', requireSession, async (c) => {
  const cluster = readable(c)
  const events = await queueOf(c.env, cluster.id).recent(cluster, RECENT_EVENTS)
  return c.json({ cluster: cluster.id, events })
})

pageApi.get('/clusters/:cluster/events/:id', requireSession, async (c) => {
  const cluster = readable(c)
  const id = c.req.param('id')
  const status = idSchema.safeParse(id).success ? await queueOf(c.env, cluster.id).status(cluster, null, id) : null
  if (!status) throw new ProblemError('unknown-event', `no event "${id}" in cluster "${cluster.id}"`)
  return c.json(status)
})

/** The path's cluster, which the operator must have in scope to read. */
function readable(c: import('hono').Context<PageEnv>) {
  const id = c.req.param('cluster') ?? ''
  const cluster = c.get('config').clusters.get(id)
  if (!cluster) throw new ProblemError('unknown-cluster', `unknown cluster "${id}"`)
  const operator = c.get('operator')
  if (!mayUseCluster(operator, id))
    throw new ProblemError('forbidden', `operator "${operator.id}" may not read cluster "${id}"`)
  return cluster
}

/** The page's files. */
export const pageFiles = new Hono<AppEnv>()
pageFiles.get('/', (c) => c.redirect('/app/', 301))
pageFiles.on(['GET', 'HEAD'], '/*', serveAsset)
