/**
 * The GitHub door's configuration: hooks from the `GITHUB_HOOKS` var, each with its secret
 * (`GITHUB_WEBHOOK_SECRET_<HOOK>`) and its rules, checked once when the configuration loads.
 */
import { z } from 'zod'
import { utf8 } from '../../../protocol/bytes.ts'
import { CLUSTER_ID, checkSerfSize, eventRequestSchema } from '../../../protocol/event.ts'
import { type GithubSecretKey, importGithubSecret } from '../../../protocol/github-signature.ts'
import { secretName } from '../../../protocol/wire.ts'
import { compileEventPatterns, type Scope } from '../../auth/scope.ts'
import type { ClusterSettings } from '../../config.ts'
import { ConfigError, issues, optionalObjectVar, secretText } from '../../config-vars.ts'
import { parseTemplate, type Template, TemplateError, templateFields } from './template.ts'

/** One rule: which deliveries it matches, and the Serf event it fires for them. */
export interface GithubRule {
  /** Position among the hook's rules, from 0; with the delivery id, the idempotency key. */
  index: number
  event: string
  action?: string
  ref?: RegExp
  conclusion?: string
  repository?: RegExp
  cluster: ClusterSettings
  name: string
  payload: Template
  coalesce: boolean
}

/** A webhook as configured on GitHub, received at `POST /v1/github/{id}`. */
export interface GithubHook {
  id: string
  key: GithubSecretKey
  /** Repositories (`owner/name` globs) whose deliveries are accepted at all; any when absent. */
  repositories?: RegExp[]
  rules: GithubRule[]
  /** The clusters and event names of its rules: all a delivery to this hook may fire. */
  scope: Scope
}

/**
 * GitHub redelivers a delivery, by hand or through its API, for up to 3 days. A redelivery is
 * recognised by its event's idempotency record, which the queue keeps for the cluster's
 * retention: a shorter retention would let a late redelivery queue its event again.
 */
export const GITHUB_REDELIVERY_MS = 3 * 86_400_000

/** Fields of a known width: commit SHAs (40 hex digits). Others count only at delivery. */
const KNOWN_WIDTHS: Record<string, number> = {
  after: 40,
  before: 40,
  'head_commit.id': 40,
  'workflow_run.head_sha': 40,
}

/** Events whose main object carries a `conclusion` a rule can match. */
const CONCLUDING_EVENTS = ['workflow_run', 'workflow_job', 'check_run', 'check_suite']

const ruleSchema = z.strictObject({
  event: z.string().regex(/^[a-z_]{1,64}$/, { error: 'event must be a GitHub event name such as push or release' }),
  action: z.string().min(1).optional(),
  ref: z.string().min(1).optional(),
  conclusion: z.string().min(1).optional(),
  repository: z.string().min(1).optional(),
  cluster: z.string(),
  name: eventRequestSchema.shape.name,
  payload: z.string().default(''),
  coalesce: z.boolean().default(true),
})

const hookSchema = z.strictObject({
  repositories: z.array(z.string().min(1)).min(1).optional(),
  rules: z.array(ruleSchema).min(1),
})

/**
 * The GitHub hooks in `env`; none when `GITHUB_HOOKS` is not set (the door is closed).
 * @throws {ConfigError} naming the hook, the rule and what is wrong with it
 */
export async function parseGithubHooks(
  env: Record<string, unknown>,
  clusters: ReadonlyMap<string, ClusterSettings>,
): Promise<Map<string, GithubHook>> {
  const hooks = new Map<string, GithubHook>()
  const raw = optionalObjectVar(env, 'GITHUB_HOOKS')
  if (raw === undefined) return hooks
  const parsed = z.record(z.string(), hookSchema).safeParse(raw)
  if (!parsed.success) throw issues('GITHUB_HOOKS', parsed.error)
  const secrets = new Map<string, string>()
  for (const [id, hook] of Object.entries(parsed.data)) {
    if (!CLUSTER_ID.test(id)) throw new ConfigError(`GITHUB_HOOKS: "${id}" is not a valid hook id (${CLUSTER_ID})`)
    const secret = secretName('GITHUB_WEBHOOK_SECRET', id)
    if (secrets.has(secret)) throw new ConfigError(`GitHub hooks "${secrets.get(secret)}" and "${id}" share ${secret}`)
    secrets.set(secret, id)
    const rules = hook.rules.map((rule, index) =>
      compileRule(`GITHUB_HOOKS.${id}.rules.${index}`, rule, index, clusters),
    )
    hooks.set(id, {
      id,
      key: await importGithubSecret(secretText(env, secret)),
      ...(hook.repositories ? { repositories: hook.repositories.map(repositoryGlob) } : {}),
      rules,
      scope: {
        clusters: [...new Set(rules.map((rule) => rule.cluster.id))],
        events: rules.map((rule) => new RegExp(`^${rule.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 's')),
      },
    })
  }
  return hooks
}

function compileRule(
  where: string,
  rule: z.infer<typeof ruleSchema>,
  index: number,
  clusters: ReadonlyMap<string, ClusterSettings>,
): GithubRule {
  const cluster = clusters.get(rule.cluster)
  if (!cluster) throw new ConfigError(`${where}.cluster names unknown cluster "${rule.cluster}"`)
  if (cluster.retentionMs < GITHUB_REDELIVERY_MS) {
    throw new ConfigError(
      `${where}.cluster: cluster "${cluster.id}" keeps events for less than 3d (CLUSTERS.${cluster.id}.retention); ` +
        'GitHub may redeliver a delivery for 3 days, and a redelivery is recognised only while its event is kept: ' +
        'set the retention to at least 3d',
    )
  }
  if (rule.conclusion !== undefined && !CONCLUDING_EVENTS.includes(rule.event)) {
    throw new ConfigError(`${where}.conclusion: only ${CONCLUDING_EVENTS.join(', ')} deliveries have a conclusion`)
  }
  let payload: Template
  try {
    payload = parseTemplate(rule.payload)
  } catch (error) {
    if (error instanceof TemplateError) throw new ConfigError(`${where}.payload: ${error.message}`)
    throw error
  }
  checkFits(where, rule.name, payload, cluster)
  return {
    index,
    event: rule.event,
    ...(rule.action !== undefined ? { action: rule.action } : {}),
    ...(rule.ref !== undefined ? { ref: compileEventPatterns([rule.ref])[0]! } : {}),
    ...(rule.conclusion !== undefined ? { conclusion: rule.conclusion } : {}),
    ...(rule.repository !== undefined ? { repository: repositoryGlob(rule.repository) } : {}),
    cluster,
    name: rule.name,
    payload,
    coalesce: rule.coalesce,
  }
}

/**
 * Refuse a rule whose event cannot fit the cluster's Serf size limit whatever the delivery:
 * its literal text and its fields of known width alone are too large. Fields of unknown length
 * are checked by the enqueue path when a delivery fills them in.
 */
function checkFits(where: string, name: string, payload: Template, cluster: ClusterSettings): void {
  const fields = templateFields(payload)
  const literal = payload.parts.reduce((bytes, part) => bytes + (typeof part === 'string' ? utf8(part).length : 0), 0)
  const fixed = literal + fields.reduce((bytes, field) => bytes + (KNOWN_WIDTHS[field] ?? 0), 0)
  const excess = checkSerfSize({ name, payload: new Uint8Array(fixed) }, cluster.userEventSizeLimit)
  if (!excess) return
  const open = fields.filter((field) => KNOWN_WIDTHS[field] === undefined).map((field) => `{{${field}}}`)
  const counted = fields.length > open.length ? 'its literal text and 40 bytes per commit SHA' : 'its literal text'
  const uncounted = open.length ? `, before ${open.join(', ')} is filled in` : ''
  throw new ConfigError(
    `${where}.payload: event "${name}" with payload "${payload.source}" is at least ${excess.size} bytes of name ` +
      `plus payload (${counted}${uncounted}); cluster "${cluster.id}" has a Serf user_event_size_limit of ` +
      `${excess.limit} bytes, which leaves room for at most ${excess.maxSize}: shorten the template or raise ` +
      `CLUSTERS.${cluster.id}.userEventSizeLimit`,
  )
}

/** An `owner/name` glob; GitHub's repository names are case-insensitive. */
function repositoryGlob(glob: string): RegExp {
  return new RegExp(compileEventPatterns([glob])[0]!.source, 'is')
}
