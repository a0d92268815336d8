/** The Worker's bindings and the Hono app's context types. */

import type { EdgeConfig, SenderConfig } from './config.ts'
import type { OperatorDirectory } from './operators/directory.ts'
import type { ClusterQueue } from './queue/cluster-queue.ts'

export interface Env {
  CLUSTER_QUEUE: DurableObjectNamespace<ClusterQueue>
  OPERATOR_DIRECTORY: DurableObjectNamespace<OperatorDirectory>
  /** The on-call page's static files (Workers static assets). */
  ASSETS: Fetcher
  CLUSTERS?: unknown
  SENDERS?: unknown
  [secret: string]: unknown
}

export interface AppEnv {
  Bindings: Env
  Variables: { config: EdgeConfig; sender: SenderConfig }
}
