/**
 * A query told in chat: its state, its totals and every node's answer, fitted into one message
 * of the platform. The queue's follow-up posts it when the query ends; `/serf status qry_…`
 * answers with it at any time.
 */
import { fromBase64 } from '../../protocol/bytes.ts'
import type { QueryStatus } from '../../protocol/query.ts'
import { clip, fitLines } from './chat-text.ts'

/** What the report reads of a query. */
export type QueryReport = Pick<QueryStatus, 'id' | 'state' | 'requestAck' | 'acks' | 'responses' | 'totals' | 'error'>

/** One node's answer is cut here, so a chatty handler cannot crowd out the others. */
const MAX_ANSWER_CHARS = 300

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`

/**
 * The report of `query`, named by `label` (e.g. "query `uptime` on prod"), within `limit`
 * characters: a headline with the state and totals, the nodes that acked but did not answer,
 * then one line per answer in the order they arrived.
 * @example queryReportText(status, 'query `whoami` on main', 2000) // '✅ query `whoami` on main done (qry_…): …'
 */
export function queryReportText(query: QueryReport, label: string, limit: number): string {
  const answered = new Set(query.responses.map((r) => r.node))
  const silent = query.acks.map((a) => a.node).filter((node) => !answered.has(node))
  const head = [headline(query, label)]
  if (silent.length > 0) head.push(clip(`Acked without an answer: ${silent.join(', ')}`, MAX_ANSWER_CHARS))
  const lines = query.responses.map((r) => `• ${r.node}: ${answerText(r)}`)
  return fitLines(head.join('\n'), lines, limit, (left) => `… and ${plural(left, 'more answer')} not shown`)
}

function headline(query: QueryReport, label: string): string {
  const { totals } = query
  const counts = `${plural(totals.responses, 'response')}${query.requestAck ? `, ${plural(totals.acks, 'ack')}` : ''}`
  if (query.state === 'done') return `✅ ${label} done (${query.id}): ${counts}`
  if (query.state === 'expired') return `⌛ ${label} expired (${query.id}): ${query.error ?? 'no bridge started it'}`
  if (query.state === 'failed')
    return `❌ ${label} failed (${query.id}): ${query.error ?? 'no reason given'}; ${counts}`
  return `⏳ ${label} is ${query.state} (${query.id}): ${counts} so far`
}

// One line per node: a multi-line answer keeps its breaks as ⏎.
function answerText(response: QueryStatus['responses'][number]): string {
  if (response.payload === undefined) {
    return `(${fromBase64(response.payloadBase64 ?? '').length} bytes, not UTF-8 text)`
  }
  const text = response.payload.trimEnd().replace(/\r?\n/g, ' ⏎ ')
  return text === '' ? '(empty)' : clip(text, MAX_ANSWER_CHARS)
}
