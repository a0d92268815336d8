/**
 * serf-edge: the Worker. Routes sender and bridge requests, turns every refusal into an
 * RFC 9457 problem, and exports the `ClusterQueue` Durable Object.
 */
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { discordRoutes } from './doors/discord/route.ts'
import { githubRoutes } from './doors/github/route.ts'
import { pageApi, pageFiles } from './doors/page/route.ts'
import { slackRoutes } from './doors/slack/route.ts'
import type { AppEnv } from './env.ts'
import { ProblemError } from './problem.ts'
import { auditRoutes } from './routes/audit.ts'
import { bridgeRoutes } from './routes/bridge.ts'
import { eventRoutes } from './routes/events.ts'
import { memberRoutes } from './routes/members.ts'
import { withConfig } from './routes/middleware.ts'
import { operatorRoutes } from './routes/operators.ts'
import { queryRoutes } from './routes/queries.ts'

export { OperatorDirectory } from './operators/directory.ts'
export { ClusterQueue } from './queue/cluster-queue.ts'

const app = new Hono<AppEnv>()

app.get('/', (c) => c.json({ service: 'serf-edge', api: '/v1/clusters/{cluster}/events' }))
// For a load balancer or a service manager: 200 once the Worker runs and its configuration (vars
// and keys) loads, a 500 invalid-config problem naming the mistake otherwise. It touches no
// Durable Object, so probing it often keeps no cluster awake.
app.get('/healthz', withConfig, (c) => {
  c.header('cache-control', 'no-store')
  return c.json({ status: 'ok', service: 'serf-edge' })
})
app.use('/v1/*', withConfig)
app.route('/v1/clusters', eventRoutes)
app.route('/v1/clusters', bridgeRoutes)
app.route('/v1/clusters', auditRoutes)
app.route('/v1/clusters', queryRoutes)
app.route('/v1/clusters', memberRoutes)
app.route('/v1/github', githubRoutes)
app.route('/v1/discord', discordRoutes)
app.route('/v1/slack', slackRoutes)
app.route('/v1/operators', operatorRoutes)
app.use('/app/api/*', withConfig)
app.route('/app/api', pageApi)
app.route('/app', pageFiles)

app.notFound((c) =>
  new ProblemError('not-found', `no endpoint ${c.req.method} ${new URL(c.req.url).pathname}`).toResponse(),
)

app.onError((error, c) => {
  const path = new URL(c.req.url).pathname
  const response = problemResponse(error, path)
  // The page's API answers are never cached (its service worker keeps only good reads).
  if (path.startsWith('/app/api/')) response.headers.set('cache-control', 'no-store')
  return response
})

function problemResponse(error: Error, path: string): Response {
  if (error instanceof ProblemError) return error.toResponse(path)
  if (error instanceof HTTPException && error.status === 400) {
    return new ProblemError('malformed-json', 'request body is not valid JSON', { cause: error }).toResponse(path)
  }
  if (error instanceof HTTPException && error.status < 500) {
    return new ProblemError('invalid-request', error.message, { cause: error }).toResponse(path)
  }
  console.error(JSON.stringify({ level: 'error', msg: 'unhandled error', path, error: String(error) }))
  return new ProblemError('internal', 'the edge failed to handle this request').toResponse(path)
}

export default app
