/**
 * The GitHub door, `POST /v1/github/{hook}`: a webhook delivery verified over its raw bytes,
 * matched against the hook's rules, and each matching rule's event queued through the one
 * enqueue path, under the idempotency key `<X-GitHub-Delivery>:<rule index>`, so that a
 * redelivery answers from the original events and queues nothing.
 */
import { type Context, Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import { fromUtf8, sha256Hex, utf8 } from '../../../protocol/bytes.ts'
import {
  GITHUB_SIGNATURE_HEADER,
  GithubSignatureError,
  verifyGithubSignature,
} from '../../../protocol/github-signature.ts'
import type { EdgeConfig } from '../../config.ts'
import { enqueueEvent, type Principal, refuseAttempt } from '../../enqueue.ts'
import type { Env } from '../../env.ts'
import { ProblemError } from '../../problem.ts'
import { limitTo } from '../../routes/middleware.ts'
import type { GithubHook, GithubRule } from './config.ts'
import { type DeliveryBody, deliveryRef, deliveryRepository, isDeletion, matchingRules } from './rules.ts'
import { renderTemplate, TemplateError } from './template.ts'

/**
 * Largest delivery read. GitHub sends up to 25 MB (a push of many commits); rules need only the
 * top of a payload, and a Worker should not buffer megabytes per request.
 */
export const MAX_DELIVERY_BYTES = 1024 * 1024

type GithubEnv = {
  Bindings: Env
  Variables: { config: EdgeConfig; hook: GithubHook; outcome: Outcome['outcome']; queued: string[] }
}

/** One queued event in the answer to a delivery. */
interface QueuedByRule {
  rule: number
  cluster: string
  name: string
  id: string
  sequence: number
}

/** What a delivery comes to: the answer, and how the log line names the outcome. */
interface Outcome {
  status: 200 | 202
  body: { ok: true; delivery: string; queued: QueuedByRule[]; note?: string }
  outcome: 'ping' | 'deletion' | 'no-match' | 'queued' | 'replayed'
}

const DELIVERY_ID = /^[A-Za-z0-9_.-]{1,128}$/
const EVENT_NAME = /^[a-z_]{1,64}$/

/** One JSON line per delivery, whatever became of it, refusals (401, 404, 413, …) included. */
const logDelivery = createMiddleware<GithubEnv>(async (c, next) => {
  await next()
  const refusal = c.error instanceof ProblemError ? { problem: c.error.type, detail: c.error.message } : {}
  const line = {
    level: c.res.status < 400 ? 'info' : 'warn',
    msg: 'github delivery',
    hook: c.req.param('hook'),
    delivery: c.req.header('x-github-delivery'),
    event: c.req.header('x-github-event'),
    status: c.res.status,
    outcome: c.get('outcome') ?? 'refused',
    queued: c.get('queued') ?? [],
    ...refusal,
  }
  console.log(JSON.stringify(line))
})

const knownHook = createMiddleware<GithubEnv>(async (c, next) => {
  const id = c.req.param('hook') ?? ''
  const hook = c.get('config').githubHooks.get(id)
  if (!hook) throw new ProblemError('not-found', `no GitHub hook "${id}" (GITHUB_HOOKS)`)
  c.set('hook', hook)
  await next()
})

const deliveryLimit = limitTo(MAX_DELIVERY_BYTES, 'a GitHub delivery')

export const githubRoutes = new Hono<GithubEnv>()

githubRoutes.post('/:hook', logDelivery, knownHook, deliveryLimit, async (c) => {
  const delivery = c.req.header('x-github-delivery') ?? ''
  const event = c.req.header('x-github-event') ?? ''
  const { status, body, outcome } = await receive(c, c.get('hook'), delivery, event)
  c.set('outcome', outcome)
  c.set(
    'queued',
    body.queued.map((q) => q.id),
  )
  if (outcome === 'replayed') c.header('idempotent-replayed', 'true')
  return c.json(body, status)
})

async function receive(c: Context<GithubEnv>, hook: GithubHook, delivery: string, event: string): Promise<Outcome> {
  const raw = new Uint8Array(await c.req.arrayBuffer())
  try {
    await verifyGithubSignature(hook.key, c.req.header(GITHUB_SIGNATURE_HEADER), raw)
  } catch (error) {
    if (error instanceof GithubSignatureError) {
      throw new ProblemError('unauthenticated', `GitHub hook "${hook.id}": ${error.message}`)
    }
    throw error
  }
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json') {
    throw new ProblemError(
      'unsupported-media-type',
      `GitHub hook "${hook.id}" takes application/json, got "${type || 'none'}": ` +
        "choose Content type application/json in the webhook's settings",
    )
  }
  if (!DELIVERY_ID.test(delivery) || !EVENT_NAME.test(event)) {
    throw new ProblemError('invalid-request', 'a GitHub delivery carries X-GitHub-Delivery and X-GitHub-Event headers')
  }
  const answer = (outcome: Outcome['outcome'], note: string): Outcome => ({
    status: 200,
    body: { ok: true, delivery, queued: [], note },
    outcome,
  })
  if (event === 'ping') return answer('ping', `pong: GitHub hook "${hook.id}" verified the signature`)

  const body = parseDelivery(raw)
  if (isDeletion(event, body)) {
    return answer('deletion', `push deletes ${String(body.ref)}: a deletion fires nothing`)
  }
  const rules = matchingRules(hook.rules, event, body)
  const repository = deliveryRepository(body)
  if (rules.length === 0) {
    const ref = deliveryRef(event, body)
    const about = [
      event,
      ...(typeof body.action === 'string' ? [`action ${body.action}`] : []),
      ...(ref ? [`ref ${ref}`] : []),
      ...(repository ? [`repository ${repository}`] : []),
    ]
    return answer('no-match', `no rule of GitHub hook "${hook.id}" matches ${about.join(', ')}; nothing fired`)
  }

  const principal: Principal = {
    id: repository ? `github:${repository}` : `github:hook:${hook.id}`,
    door: 'github',
    label: `GitHub hook "${hook.id}" (repository ${repository ?? 'none'})`,
    scope: hook.scope,
  }
  const channel = `${hook.id}/${delivery}`
  const attempt = (rule: GithubRule) => ({ principal, cluster: rule.cluster, channel, name: rule.name })
  if (hook.repositories && !hook.repositories.some((glob) => repository !== undefined && glob.test(repository))) {
    const detail = `GitHub hook "${hook.id}" does not accept deliveries from repository ${repository ?? '(none)'}`
    return refuseAttempt(c.env, attempt(rules[0]!), new ProblemError('forbidden', detail))
  }
  // Every event is rendered before any is queued: a delivery a template cannot fill queues nothing.
  const events = []
  for (const rule of rules) {
    try {
      events.push({ rule, payload: utf8(renderTemplate(rule.payload, body)) })
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error
      const detail = `rule ${rule.index} of GitHub hook "${hook.id}" (${rule.event} → ${rule.name}): ${error.message}`
      return refuseAttempt(c.env, attempt(rule), new ProblemError('invalid-event', detail))
    }
  }
  const bodyHash = await sha256Hex(raw)
  const queued: QueuedByRule[] = []
  let replayed = true
  for (const { rule, payload } of events) {
    const result = await enqueueEvent(c.env, {
      ...attempt(rule),
      event: { name: rule.name, payload, coalesce: rule.coalesce },
      requestId: `${delivery}:${rule.index}`,
      bodyHash,
    })
    const { id, sequence } = result.accepted
    queued.push({ rule: rule.index, cluster: rule.cluster.id, name: rule.name, id, sequence })
    replayed &&= result.replayed
  }
  return { status: 202, body: { ok: true, delivery, queued }, outcome: replayed ? 'replayed' : 'queued' }
}

/**
 * The delivery's JSON object; bytes that are not UTF-8 would reach the parser altered.
 * @throws {ProblemError} malformed-json
 */
function parseDelivery(raw: Uint8Array): DeliveryBody {
  let body: unknown
  try {
    body = JSON.parse(fromUtf8(raw))
  } catch (cause) {
    throw new ProblemError('malformed-json', 'the delivery is not JSON in UTF-8', { cause })
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ProblemError('malformed-json', 'the delivery is not a JSON object')
  }
  return body as DeliveryBody
}
