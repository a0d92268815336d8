/**
 * The edge's configuration, parsed and validated once per environment: clusters and senders
 * from `wrangler.toml` vars, keys from Worker secrets. Nothing else reads `env`.
 */
import { z } from 'zod'
import { DurationError, parseDuration } from '../protocol/duration.ts'
import { CLUSTER_ID, DEFAULT_USER_EVENT_SIZE_LIMIT, MAX_USER_EVENT_SIZE_LIMIT } from '../protocol/event.ts'
import { importVerifyKey, KeyFormatError, type VerifyKey } from '../protocol/signature.ts'
import { secretName } from '../protocol/wire.ts'
import { compileEventPatterns, type Scope } from './auth/scope.ts'

/** Per-cluster settings; the queue receives them with every call. */
export interface ClusterSettings {
  id: string
  userEventSizeLimit: number
  maxEventAgeMs: number
  retentionMs: number
  maxQueuedEvents: number
  leaseTtlMs: number
}

/** A sender: its keys and its scope, what it may fire where. */
export interface SenderConfig extends Scope {
  id: string
  keys: VerifyKey[]
  /** Clusters whose audit trail the sender may read. */
  audit: '*' | string[]
}

/** The whole parsed configuration. */
export interface EdgeConfig {
  clusters: Map<string, ClusterSettings>
  senders: Map<string, SenderConfig>
  bridgeKeys: Map<string, VerifyKey[]>
}

/** Thrown when the configuration cannot be used; the message names what is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Idempotency records live as long as their event; they must outlast the signature window. */
const MIN_RETENTION_MS = 10 * 60_000

const duration = (what: string) =>
  z.string({ error: `${what} must be a duration string such as "15m"` }).transform((text, ctx) => {
    try {
      return parseDuration(text)
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof DurationError ? error.message : String(error) })
      return z.NEVER
    }
  })

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
})

const senderSchema = z.strictObject({
  clusters: z.union([z.literal('*'), z.array(z.string()).min(1)]),
  events: z.array(z.string().min(1)).min(1).default(['*']),
  /** Clusters whose audit trail this sender may read; none unless given. */
  audit: z.union([z.literal('*'), z.array(z.string())]).default([]),
})

function objectVar(env: Record<string, unknown>, name: string): unknown {
  const value = env[name]
  if (value === undefined) throw new ConfigError(`${name} is not set (see README, Configuration)`)
  if (typeof value !== 'string') return value
  try {
    return JSON.parse(value)
  } catch {
    throw new ConfigError(`${name} is not valid JSON`)
  }
}

function issues(name: string, error: z.ZodError): ConfigError {
  const lines = error.issues.map((issue) => `${[name, ...issue.path].join('.')}: ${issue.message}`)
  return new ConfigError(lines.join('; '))
}

async function keysFrom(env: Record<string, unknown>, name: string): Promise<VerifyKey[]> {
  const value = env[name]
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(`secret ${name} is not set (wrangler secret put ${name}; locally .dev.vars)`)
  }
  const keys: VerifyKey[] = []
  for (const [index, text] of value.trim().split(/\s+/).entries()) {
    try {
      keys.push(await importVerifyKey(text))
    } catch (error) {
      if (error instanceof KeyFormatError) throw new ConfigError(`${name}, key ${index + 1}: ${error.message}`)
      throw error
    }
  }
  return keys
}

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
    })
  }
  return { clusters, senders, bridgeKeys }
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
