/** The chat core's answers that fire nothing: `/serf help` and `/serf status <id>`. */
import type { ClusterSettings } from '../../config.ts'
import { queueOf } from '../../enqueue.ts'
import type { Env } from '../../env.ts'
import { type ChatActor, type ChatApp, clusterFor, grantsOf, principalId } from './policy.ts'

/** Usage, and what `actor` may fire here (their grants in this channel), nothing else. */
export function helpText(app: ChatApp, actor: ChatActor): string {
  const grants = grantsOf(app, actor)
  if (grants.length === 0) return 'You may not fire any event here. Ask an operator to grant you some.'
  const lines = grants.map((grant) => {
    const clusters = grant.clusters === '*' ? 'any cluster' : grant.clusters.join(', ')
    return `• ${grant.eventPatterns.map((p) => `\`${p}\``).join(', ')} on ${clusters}`
  })
  const cluster = clusterFor(app, actor.channel, undefined)
  return [
    'Usage: `/serf <event> [payload] [-cluster=NAME] [-coalesce=false]`, `/serf status <id>`, `/serf help`.',
    'Here you may fire:',
    ...lines,
    cluster ? `Without -cluster, events go to ${cluster}.` : 'Give -cluster=NAME: this channel has no default.',
  ].join('\n')
}

/** An event's status, told only to the principal that fired it. */
export async function statusText(
  env: Pick<Env, 'CLUSTER_QUEUE'>,
  actor: ChatActor,
  cluster: ClusterSettings,
  id: string,
): Promise<string> {
  const status = await queueOf(env, cluster.id).status(cluster, principalId(actor), id)
  if (!status) return `No event "${id}" of yours in cluster ${cluster.id} (unknown, or pruned after retention).`
  const error = status.error ? `: ${status.error}` : ''
  return `\`${status.name}\` on ${cluster.id} (#${status.sequence}, ${status.id}) is ${status.status}${error}.`
}
