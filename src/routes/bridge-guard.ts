/** What the query and members bridge routes check: the bridge's signature, the body's cluster, the lease. */

import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { authenticateBridge } from '../auth/verify.ts'
import type { ClusterSettings } from '../config.ts'
import type { AppEnv } from '../env.ts'
import { ProblemError } from '../problem.ts'
import type { LeaseLost } from '../queue/lease.ts'
import { clusterOf, limitTo, requireJson } from './middleware.ts'

/** Verify the request is signed with the cluster's bridge key. */
export const signedByBridge = createMiddleware<AppEnv>(async (c, next) => {
  await authenticateBridge(c, c.get('config'), clusterOf(c).id)
  await next()
})

/**
 * The guard of a bridge route whose body may be up to `maxBytes`: a size limit checked before
 * anything parses the body, JSON only, the bridge's signature.
 */
export function bridgeGuard(maxBytes: number) {
  return [limitTo(maxBytes), requireJson, signedByBridge] as const
}

/**
 * The settings of the path's cluster, which the signed body must name too.
 * @throws {ProblemError} cluster-mismatch
 */
export function sameCluster(c: Context<AppEnv>, cluster: string): ClusterSettings {
  const settings = clusterOf(c)
  if (cluster !== settings.id) {
    throw new ProblemError(
      'cluster-mismatch',
      `body names cluster "${cluster}" but the request went to "${settings.id}"`,
    )
  }
  return settings
}

/** The 409 for a bridge whose lease token is no longer current: it must not run queries or report members. */
export function leaseLostProblem(cluster: string, token: number, lost: LeaseLost): ProblemError {
  return new ProblemError(
    'lease-lost',
    `lease token ${token} is no longer current for cluster "${cluster}"` +
      (lost.holder ? `; bridge "${lost.holder}" holds it now` : ''),
    { extensions: { holder: lost.holder } },
  )
}
