/**
 * `/serf query` and `/serf members` in chat. A query goes through the one ask path (src/ask.ts),
 * validated by the API's own schema, and is answered at once; its nodes' answers come later, in
 * one follow-up the cluster's queue posts when the query ends. Members are answered at once from
 * the last snapshot a bridge reported, with its age.
 */
import { sha256Hex, utf8 } from '../../../protocol/bytes.ts'
import { formatDuration } from '../../../protocol/duration.ts'
import {
  MAX_QUERY_TIMEOUT_MS,
  type Member,
  MIN_QUERY_TIMEOUT_MS,
  type QueryRequest,
  queryRequestSchema,
} from '../../../protocol/query.ts'
import { toSerfQuery } from '../../../protocol/query-rules.ts'
import { askQuery } from '../../ask.ts'
import { mayUseCluster } from '../../auth/scope.ts'
import type { ClusterSettings } from '../../config.ts'
import { queueOf, refuseAttempt } from '../../enqueue.ts'
import { ProblemError } from '../../problem.ts'
import { CHAT_TEXT_LIMIT, clip, fitLines } from '../../queue/chat-text.ts'
import type { ChatCommand } from './command.ts'
import { type ChatContext, type ChatReply, followupOf, principalOf, say } from './context.ts'

type QueryCommand = Extract<ChatCommand, { kind: 'query' }>

/** How a query is named in replies and its follow-up. */
export const queryLabel = (name: string, cluster: string): string => `query \`${name}\` on ${cluster}`

/**
 * Ask `command` on `cluster` as the actor, under the interaction's id: a redelivered command
 * asks nothing more. Refusals (scope, Serf's rules, size) are recorded and told at once.
 */
export async function askInChat(ctx: ChatContext, cluster: ClusterSettings, command: QueryCommand): Promise<ChatReply> {
  const principal = principalOf(ctx.app, ctx.actor, cluster.id)
  const channel = ctx.actor.channel
  const request: QueryRequest = {
    cluster: cluster.id,
    name: command.name,
    payload: command.payload,
    ...(command.nodes.length > 0 ? { nodes: command.nodes } : {}),
    ...(Object.keys(command.tags).length > 0 ? { tags: command.tags } : {}),
    ...(command.timeoutMs !== undefined ? { timeoutMs: command.timeoutMs } : {}),
  }
  const label = queryLabel(command.name, cluster.id)
  try {
    const parsed = queryRequestSchema.safeParse(request)
    if (!parsed.success) {
      const problem = new ProblemError('invalid-request', issuesText(parsed.error.issues))
      // Throws the problem, answered below.
      return await refuseAttempt(ctx.env, { principal, cluster, channel, name: command.name.slice(0, 128) }, problem)
    }
    const followup = followupOf(ctx, label, false)
    const { accepted } = await askQuery(ctx.env, {
      principal,
      cluster,
      query: toSerfQuery(parsed.data),
      channel,
      requestId: ctx.interactionId,
      bodyHash: await sha256Hex(utf8(JSON.stringify([request, principal.id]))),
      followup,
    })
    const later = followup
      ? 'answers will follow when it ends.'
      : `ask \`/serf status ${accepted.id} -cluster=${cluster.id}\` for its answers.`
    return say(`query \`${command.name}\` asked on ${cluster.id} (${accepted.id}): ${later}`)
  } catch (error) {
    if (error instanceof ProblemError) return say(`Not asked: ${error.message}`)
    throw error
  }
}

/**
 * The members of `cluster` as the bridge last reported them, to anyone with a grant there,
 * only those whose status matches `status` (anchored, as `serf members -status`) when given.
 */
export async function membersInChat(ctx: ChatContext, cluster: ClusterSettings, status?: string): Promise<ChatReply> {
  if (!mayUseCluster(principalOf(ctx.app, ctx.actor, cluster.id).scope, cluster.id)) {
    return say(`You may not read the members of ${cluster.id}: none of your grants here names it.`)
  }
  let matches: RegExp | undefined
  try {
    matches = status === undefined ? undefined : new RegExp(`^(?:${status})$`)
  } catch (error) {
    return say(`-status: "${status}" is not a valid regular expression (${(error as Error).message}).`)
  }
  const view = await queueOf(ctx.env, cluster.id).members()
  if (!view) {
    return say(
      `No bridge has reported the members of ${cluster.id} yet: the active bridge reports them when it ` +
        'starts, on every member change and at least every minute.',
    )
  }
  const shown = view.members.filter((m) => !matches || matches.test(m.status))
  const age = ageText(Math.max(0, Date.now() - view.reportedAt))
  const count =
    status === undefined
      ? `${shown.length} members`
      : `${shown.length} of ${view.members.length} match -status=${status}`
  const head = `Members of ${cluster.id} as of ${age} ago (bridge "${view.bridgeId}"): ${count}`
  const lines = shown.map((m) => clip(memberLine(m), 300))
  const limit = CHAT_TEXT_LIMIT[ctx.actor.platform]
  return say(fitLines(head, lines, limit, (left) => `… and ${left} more (narrow with -status=REGEX)`))
}

/** A member as `serf members` shows it: name, address, status, tags. */
function memberLine(member: Member): string {
  const host = member.addr.includes(':') ? `[${member.addr}]` : member.addr
  const tags = Object.entries(member.tags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join(',')
  return `• ${member.name}  ${host}:${member.port}  ${member.status}${tags ? `  ${tags}` : ''}`
}

/** How old a report is, in the unit a person reads best: "12 s", "3 min", "2 h". */
function ageText(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`
  return `${Math.round(ms / 3_600_000)} h`
}

/** The API schema's issues in the words of the chat command: its flags, not the API's fields. */
function issuesText(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  const bounds = `from ${formatDuration(MIN_QUERY_TIMEOUT_MS)} to ${formatDuration(MAX_QUERY_TIMEOUT_MS)}`
  return issues
    .map((issue) => {
      const [field, key] = issue.path
      if (field === 'timeoutMs') return `-timeout must be ${bounds}`
      if (field === 'tags') return `-tag ${String(key)}: ${issue.message}`
      if (field === 'nodes') return `-node: ${issue.message}`
      return `query ${String(field ?? 'request')}: ${issue.message}`
    })
    .join('; ')
}
