/** Middleware shared by the sender and bridge routes. */

import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createMiddleware } from 'hono/factory'
import { sha256Hex } from '../../protocol/bytes.ts'
import type { Asker } from '../ask.ts'
import { mayUseCluster } from '../auth/scope.ts'
import { authenticateSender } from '../auth/verify.ts'
import { type ClusterSettings, ConfigError, loadConfig, type SenderConfig } from '../config.ts'
import { queueOf as queueFor } from '../enqueue.ts'
import type { AppEnv } from '../env.ts'
import { ProblemError } from '../problem.ts'

/** Largest request body read at all: a 9 KiB event in base64 plus JSON framing fits easily. */
export const MAX_BODY_BYTES = 32 * 1024

/** Parse the configuration once; refuse every request with a clear problem while it is bad. */
export const withConfig = createMiddleware<AppEnv>(async (c, next) => {
  try {
    c.set('config', await loadConfig(c.env))
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(JSON.stringify({ level: 'error', msg: 'invalid configuration', detail: error.message }))
      throw new ProblemError('invalid-config', error.message)
    }
    throw error
  }
  await next()
})

/** Refuse bodies over {@link MAX_BODY_BYTES} before anything parses them (chunked ones too). */
export const limitBody = limitTo(MAX_BODY_BYTES)

/**
 * Refuse bodies over `maxSize` bytes with a `body-too-large` problem, before anything reads them.
 * @example limitTo(1024 * 1024, 'a GitHub delivery')
 */
export function limitTo(maxSize: number, what = 'request body') {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ProblemError('body-too-large', `${what} is over ${maxSize} bytes`)
    },
  })
}

/** Refuse anything but a JSON body. */
export const requireJson = createMiddleware<AppEnv>(async (c, next) => {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json') {
    throw new ProblemError('unsupported-media-type', `content-type must be application/json, got "${type || 'none'}"`)
  }
  await next()
})

/** The settings of the cluster named in the path. */
export function clusterOf(c: Context<AppEnv>): ClusterSettings {
  const id = c.req.param('cluster') ?? ''
  const settings = c.get('config').clusters.get(id)
  if (!settings) throw new ProblemError('unknown-cluster', `unknown cluster "${id}"`)
  return settings
}

/** The cluster's queue object. */
export const queueOf = (c: Context<AppEnv>, cluster: string) => queueFor(c.env, cluster)

/** Verify a sender's signature and keep the sender for the route. */
export const sender = createMiddleware<AppEnv>(async (c, next) => {
  c.set('sender', await authenticateSender(c, c.get('config')))
  await next()
})

/** An API sender as the enqueue and ask paths see it: its id as recorded, its configured scope. */
export const senderPrincipal = (sender: SenderConfig): Asker => ({
  id: sender.id,
  door: 'api',
  label: `sender "${sender.id}"`,
  scope: sender,
})

/**
 * The path's cluster and the sender, who must have it in scope to read it (statuses, members).
 * @throws {ProblemError} unknown-cluster, forbidden
 */
export function readableCluster(c: Context<AppEnv>): { cluster: ClusterSettings; who: SenderConfig } {
  const cluster = clusterOf(c)
  const who = c.get('sender')
  if (!mayUseCluster(who, cluster.id)) {
    throw new ProblemError('forbidden', `sender "${who.id}" may not read cluster "${cluster.id}"`)
  }
  return { cluster, who }
}

/** What makes a signed sender request recognisable on a retry: its webhook-id and body hash. */
export async function requestKey(c: Context<AppEnv>): Promise<{ requestId: string; bodyHash: string }> {
  return {
    requestId: c.req.header('webhook-id')!,
    bodyHash: await sha256Hex(new Uint8Array(await c.req.arrayBuffer())),
  }
}

/** The `202` answer to a queued event or query, with its `Location` and the replay flag. */
export function acceptedAnswer<T extends { id: string }>(
  c: Context<AppEnv>,
  kind: 'events' | 'queries',
  result: { accepted: T; replayed: boolean },
  cluster: string,
) {
  c.header('location', `/v1/clusters/${cluster}/${kind}/${result.accepted.id}`)
  if (result.replayed) c.header('idempotent-replayed', 'true')
  return c.json(result.accepted, 202)
}
