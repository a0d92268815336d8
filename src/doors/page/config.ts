/**
 * The on-call page's configuration: operators from the `OPERATORS` var (scope and quick
 * actions, like senders), the page's origin and how long a session lasts.
 */
import { z } from 'zod'
import { CLUSTER_ID } from '../../../protocol/event.ts'
import type { Confirm, QuickAction } from '../../../protocol/page.ts'
import { compileEventPatterns, mayFire, mayUseCluster, type Scope } from '../../auth/scope.ts'
import type { ClusterSettings } from '../../config.ts'
import { ConfigError, duration, issues, optionalObjectVar } from '../../config-vars.ts'

/** A quick action as configured, its `ask` pattern compiled for a full match. */
export interface OperatorAction extends QuickAction {
  /** For `payload.kind === 'ask'`: the pattern anchored at both ends. */
  askPattern?: RegExp
}

/** An operator: who may enrol devices and fire from the page, within which scope. */
export interface OperatorConfig extends Scope {
  id: string
  /** The configured event patterns as written, for the page's custom form hint. */
  eventPatterns: string[]
  /** Whether the page offers a custom event form (any event within scope). */
  custom: boolean
  actions: Map<string, OperatorAction>
}

/** The page's settings. */
export interface PageConfig {
  operators: Map<string, OperatorConfig>
  /** The origin the page is served at; undefined: each request's own origin. */
  origin?: string
  sessionTtlMs: number
}

const MAX_SESSION_TTL_MS = 24 * 3_600_000
const ACTION_ID = /^[a-z0-9][a-z0-9-]{0,62}$/

const askSchema = z.strictObject({
  pattern: z.string().min(1),
  label: z.string().min(1).max(64),
  example: z.string().optional(),
})

const actionSchema = z
  .strictObject({
    id: z.string().regex(ACTION_ID, { error: `an action id matches ${ACTION_ID}` }),
    label: z.string().min(1).max(80),
    cluster: z.string(),
    name: z.string().min(1).max(128),
    payload: z.string().optional(),
    ask: askSchema.optional(),
    coalesce: z.boolean().default(true),
    confirm: z.enum(['tap', 'hold', 'approval']).default('tap'),
    approvers: z.array(z.string().regex(CLUSTER_ID)).optional(),
    danger: z.boolean().default(false),
  })
  .refine((a) => a.payload === undefined || a.ask === undefined, { error: 'give payload or ask, not both' })
  .refine((a) => (a.confirm === 'approval') === (a.approvers !== undefined && a.approvers.length > 0), {
    error: 'confirm = "approval" needs approvers, and approvers need confirm = "approval"',
  })

const operatorSchema = z.strictObject({
  clusters: z.union([z.literal('*'), z.array(z.string()).min(1)]),
  events: z.array(z.string().min(1)).min(1),
  custom: z.boolean().default(false),
  actions: z.array(actionSchema).default([]),
})

/**
 * The operators in `env` and the page's settings; no operators when `OPERATORS` is not set.
 * @throws {ConfigError} naming the operator and the field
 */
export function parsePageConfig(
  env: Record<string, unknown>,
  clusters: ReadonlyMap<string, ClusterSettings>,
): PageConfig {
  const operators = new Map<string, OperatorConfig>()
  const raw = optionalObjectVar(env, 'OPERATORS')
  if (raw !== undefined) {
    const parsed = z.record(z.string(), operatorSchema).safeParse(raw)
    if (!parsed.success) throw issues('OPERATORS', parsed.error)
    for (const [id, o] of Object.entries(parsed.data)) {
      if (!CLUSTER_ID.test(id)) throw new ConfigError(`OPERATORS: "${id}" is not a valid operator id (${CLUSTER_ID})`)
      for (const cluster of o.clusters === '*' ? [] : o.clusters) {
        if (!clusters.has(cluster)) throw new ConfigError(`OPERATORS.${id}.clusters names unknown cluster "${cluster}"`)
      }
      const scope: Scope = { clusters: o.clusters, events: compileEventPatterns(o.events) }
      const actions = new Map<string, OperatorAction>()
      for (const [index, a] of o.actions.entries()) {
        const where = `OPERATORS.${id}.actions[${index}] ("${a.id}")`
        if (actions.has(a.id)) throw new ConfigError(`${where}: the id is used twice`)
        if (!clusters.has(a.cluster)) throw new ConfigError(`${where}: unknown cluster "${a.cluster}"`)
        if (!mayUseCluster(scope, a.cluster) || !mayFire(scope, a.name)) {
          throw new ConfigError(`${where}: "${a.name}" on "${a.cluster}" is outside the operator's clusters and events`)
        }
        if (a.approvers?.includes(id)) throw new ConfigError(`${where}: an operator cannot approve their own action`)
        actions.set(a.id, toAction(where, a))
      }
      operators.set(id, { id, ...scope, eventPatterns: o.events, custom: o.custom, actions })
    }
    for (const operator of operators.values()) {
      for (const action of operator.actions.values()) {
        for (const approver of action.approvers ?? []) {
          if (!operators.has(approver)) {
            throw new ConfigError(`OPERATORS.${operator.id}.actions "${action.id}": unknown approver "${approver}"`)
          }
        }
      }
    }
  }
  const origin = pageOrigin(env.PAGE_ORIGIN)
  const ttl = duration('PAGE_SESSION_TTL').safeParse(env.PAGE_SESSION_TTL ?? '8h')
  if (!ttl.success) throw issues('PAGE_SESSION_TTL', ttl.error)
  if (ttl.data > MAX_SESSION_TTL_MS) throw new ConfigError('PAGE_SESSION_TTL must be at most 24h: sessions last hours')
  return { operators, ...(origin ? { origin } : {}), sessionTtlMs: ttl.data }
}

function toAction(where: string, a: z.infer<typeof actionSchema>): OperatorAction {
  const confirm: Confirm = a.confirm
  const base = {
    id: a.id,
    label: a.label,
    cluster: a.cluster,
    name: a.name,
    coalesce: a.coalesce,
    confirm,
    danger: a.danger,
    ...(a.approvers ? { approvers: a.approvers } : {}),
  }
  if (!a.ask) return { ...base, payload: { kind: 'fixed', value: a.payload ?? '' } }
  let askPattern: RegExp
  try {
    askPattern = new RegExp(`^(?:${a.ask.pattern})$`, 'u')
  } catch (error) {
    throw new ConfigError(`${where}.ask.pattern is not a valid regular expression: ${(error as Error).message}`)
  }
  if (a.ask.example !== undefined && !askPattern.test(a.ask.example)) {
    throw new ConfigError(`${where}.ask.example does not match its own pattern`)
  }
  return { ...base, payload: { kind: 'ask', ...a.ask }, askPattern }
}

function pageOrigin(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined
  if (typeof value !== 'string')
    throw new ConfigError('PAGE_ORIGIN must be a string such as "https://edge.example.com"')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`PAGE_ORIGIN "${value}" is not a URL`)
  }
  if (url.origin !== value.replace(/\/$/, ''))
    throw new ConfigError(`PAGE_ORIGIN must be an origin only, e.g. "${url.origin}"`)
  if (/^\d+\.\d+\.\d+\.\d+$|^\[/.test(url.hostname)) {
    throw new ConfigError(
      'PAGE_ORIGIN must name a host, not an IP address: passkeys are bound to a domain (use localhost locally)',
    )
  }
  return url.origin
}
