/** The Worker's bindings and the Hono app's context types. */

import type { EdgeConfig, SenderConfig } from './config.ts'
import type { ClusterQueue } from './queue/cluster-queue.ts'

export interface Env {
  CLUSTER_QUEUE: DurableObjectNamespace<ClusterQueue>
  CLUSTERS?: unknown
  SENDERS?: unknown
  [secret: string]: unknown
}

export interface AppEnv {
  Bindings: Env
  Variables: { config: EdgeConfig; sender: SenderConfig }
}
