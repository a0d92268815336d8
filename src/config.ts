/**
 * The edge's configuration, parsed and validated once per environment: clusters and senders
 * from `wrangler.toml` vars, keys from Worker secrets. Nothing else reads `env`.
 */
import { z } from 'zod'
import { CLUSTER_ID, DEFAULT_USER_EVENT_SIZE_LIMIT, MAX_USER_EVENT_SIZE_LIMIT } from '../protocol/event.ts'
import { DEFAULT_QUERY_SIZE_LIMIT } from '../protocol/query.ts'
import { MAX_QUERY_RESPONSE_SIZE_LIMIT, MAX_QUERY_SIZE_LIMIT } from '../protocol/query-rules.ts'
import type { VerifyKey } from '../protocol/signature.ts'
import { secretName } from '../protocol/wire.ts'
import { compileEventPatterns, type Scope } from './auth/scope.ts'
import { ConfigError, duration, issues, keysFrom, objectVar } from './config-vars.ts'
import { type DiscordApp, parseDiscordApps } from './doors/discord/config.ts'
import { type GithubHook, parseGithubHooks } from './doors/github/config.ts'
import { type PageConfig, parsePageConfig } from './doors/page/config.ts'
import { parseSlackApps, type SlackApp } from './doors/slack/config.ts'

export { ConfigError }

/** Per-cluster settings; the queue receives them with every call. */
export interface ClusterSettings {
  id: string
  userEventSizeLimit: number
  maxEventAgeMs: number
  retentionMs: number
  maxQueuedEvents: number
  leaseTtlMs: number
  /** The agents' `query_size_limit`: the encoded query, source node name included. */
  querySizeLimit: number
  /** The agents' `query_response_size_limit`: no relayed answer can be larger. */
  queryResponseSizeLimit: number
}

/** A sender: its keys and its scope, what it may fire where. */
export interface SenderConfig extends Scope {
  id: string
  keys: VerifyKey[]
  /** Clusters whose audit trail the sender may read. */
  audit: '*' | string[]
  /** Query names the sender may ask, compiled like event patterns; none unless given. */
  queries: RegExp[]
  /** Operators whose invites and devices the sender may manage; none unless given. */
  operators: '*' | string[]
}

/** The whole parsed configuration. */
export interface EdgeConfig {
  clusters: Map<string, ClusterSettings>
  senders: Map<string, SenderConfig>
  bridgeKeys: Map<string, VerifyKey[]>
  /** The GitHub door's hooks by id; empty when `GITHUB_HOOKS` is not set. */
  githubHooks: Map<string, GithubHook>
  /** The Discord door's applications by id; empty when `DISCORD_APPS` is not set. */
  discordApps: Map<string, DiscordApp>
  /** The Slack door's apps by id; empty when `SLACK_APPS` is not set. */
  slackApps: Map<string, SlackApp>
  /** The on-call page: operators (none when `OPERATORS` is not set), origin, session length. */
  page: PageConfig
}

/** Idempotency records live as long as their event; they must outlast the signature window. */
const MIN_RETENTION_MS = 10 * 60_000

const clusterSchema = z.strictObject({
  userEventSizeLimit: z
    .number()
    .int()
    .min(1)
    .max(MAX_USER_EVENT_SIZE_LIMIT, {
      error: `userEventSizeLimit must be at most ${MAX_USER_EVENT_SIZE_LIMIT} (Serf's own maximum)`,
    })
    .default(DEFAULT_USER_EVENT_SIZE_LIMIT),
  maxEventAge: duration('maxEventAge').prefault('1h'),
  retention: duration('retention').prefault('7d'),
  maxQueuedEvents: z.number().int().min(1).max(1_000_000).default(100_000),
  bridgeLeaseTtl: duration('bridgeLeaseTtl').prefault('60s'),
  querySizeLimit: z
    .number()
    .int()
    .min(1)
    .max(MAX_QUERY_SIZE_LIMIT, {
      error: `querySizeLimit must be at most ${MAX_QUERY_SIZE_LIMIT}: a larger query does not fit one gossip packet and never leaves the bridge's agent`,
    })
    .default(DEFAULT_QUERY_SIZE_LIMIT),
  queryResponseSizeLimit: z
    .number()
    .int()
    .min(1)
    .max(MAX_QUERY_RESPONSE_SIZE_LIMIT, {
      error: `queryResponseSizeLimit must be at most ${MAX_QUERY_RESPONSE_SIZE_LIMIT} (the most one relayed answer carries)`,
    })
    .default(DEFAULT_QUERY_SIZE_LIMIT),
})

const senderSchema = z.strictObject({
  clusters: z.union([z.literal('*'), z.array(z.string()).min(1)]),
  events: z.array(z.string().min(1)).min(1).default(['*']),
  /** Clusters whose audit trail this sender may read; none unless given. */
  audit: z.union([z.literal('*'), z.array(z.string())]).default([]),
  /** Query names this sender may ask (`*` globs, as `events`); none unless given. */
  queries: z.array(z.string().min(1)).default([]),
  /** Operators whose invites and devices this sender may manage; none unless given. */
  operators: z.union([z.literal('*'), z.array(z.string())]).default([]),
})

/**
 * Parse and validate the configuration in `env`.
 * @throws {ConfigError} naming the first thing that is wrong
 */
export async function parseConfig(env: Record<string, unknown>): Promise<EdgeConfig> {
  const rawClusters = z.record(z.string(), clusterSchema).safeParse(objectVar(env, 'CLUSTERS'))
  if (!rawClusters.success) throw issues('CLUSTERS', rawClusters.error)
  const clusters = new Map<string, ClusterSettings>()
  const bridgeKeys = new Map<string, VerifyKey[]>()
  for (const [id, c] of Object.entries(rawClusters.data)) {
    if (!CLUSTER_ID.test(id)) throw new ConfigError(`CLUSTERS: "${id}" is not a valid cluster id (${CLUSTER_ID})`)
    if (c.retention < MIN_RETENTION_MS) {
      throw new ConfigError(`CLUSTERS.${id}.retention must be at least 10m (idempotency window)`)
    }
    clusters.set(id, {
      id,
      userEventSizeLimit: c.userEventSizeLimit,
      maxEventAgeMs: c.maxEventAge,
      retentionMs: c.retention,
      maxQueuedEvents: c.maxQueuedEvents,
      leaseTtlMs: c.bridgeLeaseTtl,
      querySizeLimit: c.querySizeLimit,
      queryResponseSizeLimit: c.queryResponseSizeLimit,
    })
    bridgeKeys.set(id, await keysFrom(env, secretName('BRIDGE_KEYS', id)))
  }
  if (clusters.size === 0) throw new ConfigError('CLUSTERS names no cluster')

  const rawSenders = z.record(z.string(), senderSchema).safeParse(objectVar(env, 'SENDERS'))
  if (!rawSenders.success) throw issues('SENDERS', rawSenders.error)
  const senders = new Map<string, SenderConfig>()
  const secrets = new Map<string, string>()
  for (const [id, s] of Object.entries(rawSenders.data)) {
    if (!CLUSTER_ID.test(id)) throw new ConfigError(`SENDERS: "${id}" is not a valid sender id (${CLUSTER_ID})`)
    const secret = secretName('SENDER_KEYS', id)
    if (secrets.has(secret)) throw new ConfigError(`senders "${secrets.get(secret)}" and "${id}" share ${secret}`)
    secrets.set(secret, id)
    for (const field of ['clusters', 'audit'] as const) {
      for (const cluster of s[field] === '*' ? [] : s[field]) {
        if (!clusters.has(cluster)) throw new ConfigError(`SENDERS.${id}.${field} names unknown cluster "${cluster}"`)
      }
    }
    senders.set(id, {
      id,
      keys: await keysFrom(env, secret),
      clusters: s.clusters,
      events: compileEventPatterns(s.events),
      audit: s.audit,
      queries: compileEventPatterns(s.queries),
      operators: s.operators,
    })
  }
  const page = parsePageConfig(env, clusters)
  for (const sender of senders.values()) {
    for (const operator of sender.operators === '*' ? [] : sender.operators) {
      if (!page.operators.has(operator)) {
        throw new ConfigError(`SENDERS.${sender.id}.operators names unknown operator "${operator}"`)
      }
    }
  }
  return {
    clusters,
    senders,
    bridgeKeys,
    githubHooks: await parseGithubHooks(env, clusters),
    discordApps: await parseDiscordApps(env, clusters),
    slackApps: await parseSlackApps(env, clusters),
    page,
  }
}

const cache = new WeakMap<object, Promise<EdgeConfig>>()

/** The parsed configuration of `env`, parsed once per environment object. */
export function loadConfig(env: object): Promise<EdgeConfig> {
  let config = cache.get(env)
  if (!config) {
    config = parseConfig(env as Record<string, unknown>)
    cache.set(env, config)
  }
  return config
}
