/** The chat core's answers that fire nothing: `/serf help` and `/serf status <id>`. */
import type { ClusterSettings } from '../../config.ts'
import { queueOf } from '../../enqueue.ts'
import { CHAT_TEXT_LIMIT } from '../../queue/chat-text.ts'
import { queryReportText } from '../../queue/query-report.ts'
import { queryLabel } from './asks.ts'
import type { ChatContext } from './context.ts'
import { type ChatActor, type ChatApp, clusterFor, grantsOf, principalId } from './policy.ts'

/** Usage, and what `actor` may fire and ask here (their grants in this channel), nothing else. */
export function helpText(app: ChatApp, actor: ChatActor): string {
  const grants = grantsOf(app, actor)
  if (grants.length === 0) return 'You may not fire any event here. Ask an operator to grant you some.'
  const quoted = (patterns: string[]) => patterns.map((p) => `\`${p}\``).join(', ')
  const lines = grants.map((grant) => {
    const clusters = grant.clusters === '*' ? 'any cluster' : grant.clusters.join(', ')
    const events = grant.eventPatterns.length > 0 ? quoted(grant.eventPatterns) : ''
    const queries = grant.queryPatterns.length > 0 ? `queries ${quoted(grant.queryPatterns)}` : ''
    return `• ${[events, queries].filter(Boolean).join('; ')} on ${clusters}`
  })
  const cluster = clusterFor(app, actor.channel, undefined)
  return [
    'Usage: `/serf <event> [payload] [-cluster=NAME] [-coalesce=false]`, `/serf status <id>`, `/serf help`;',
    '`/serf query <name> [payload] [-node=NAME] [-tag=KEY=REGEX] [-timeout=5s]`, `/serf members [-status=alive]`.',
    `Here you may fire${grants.some((grant) => grant.queryPatterns.length > 0) ? ' and ask' : ''}:`,
    ...lines,
    cluster ? `Without -cluster, events go to ${cluster}.` : 'Give -cluster=NAME: this channel has no default.',
  ].join('\n')
}

/**
 * An event's status, or a query's answers so far (`qry_…`), told only to the principal that
 * fired or asked it.
 */
export async function statusText(ctx: ChatContext, cluster: ClusterSettings, id: string): Promise<string> {
  const queue = queueOf(ctx.env, cluster.id)
  const asker = principalId(ctx.actor)
  if (id.startsWith('qry_')) {
    const query = await queue.queryStatus(cluster, asker, id)
    if (!query) return `No query "${id}" of yours in cluster ${cluster.id} (unknown, or pruned after retention).`
    return queryReportText(query, queryLabel(query.name, cluster.id), CHAT_TEXT_LIMIT[ctx.actor.platform])
  }
  const status = await queue.status(cluster, asker, id)
  if (!status) return `No event "${id}" of yours in cluster ${cluster.id} (unknown, or pruned after retention).`
  const error = status.error ? `: ${status.error}` : ''
  return `\`${status.name}\` on ${cluster.id} (#${status.sequence}, ${status.id}) is ${status.status}${error}.`
}
