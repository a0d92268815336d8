/**
 * Follow-ups: telling a chat channel how its event ended (delivered, rejected by Serf, expired),
 * or what its query's nodes answered once the query ended (done, expired, failed). The Durable
 * Object sends them when the bridge's ack, the query's `done` or an expiry settles the subject:
 * a Worker's `waitUntil` ends 30 s after its response, long before most events settle.
 *
 * A follow-up belongs to an event (`evt_…`) or a query (`qry_…`) by its id; both go through the
 * one sending path below, with the same origin rule, reply window and attempts.
 */
import { backoffDelay } from '../../protocol/timing.ts'
import type { AuditEntry } from './audit-log.ts'
import { CHAT_TEXT_LIMIT } from './chat-text.ts'
import { queryReportText } from './query-report.ts'
import { answersOf } from './query-status.ts'
import type { EventRow, QueryRecordRow, QueryRow } from './schema.ts'

/** Where and how to report an event's outcome or a query's answers. */
export interface FollowupTarget {
  /** `slack`: POST to the command's `response_url`; `discord`: PATCH the original response. */
  kind: 'slack' | 'discord'
  url: string
  /** When the platform stops taking it (ms since the epoch): Slack 30 min, Discord 15 min. */
  expiresAt: number
  /** Post in the channel (Slack `in_channel`) rather than to the requester alone. */
  announce: boolean
  /** How the message names the event or query, e.g. "`deploy` v1.4.2 on prod", "query `uptime` on prod". */
  label: string
}

type FollowupRow = {
  /** The event's or the query's id. */
  event_id: string
  kind: FollowupTarget['kind']
  url: string
  expires_at: number
  announce: number
  label: string
  attempts: number
}

/**
 * Attempts per follow-up before it is given up. Slack takes 5 posts per `response_url` within
 * 30 minutes, and a button click's own reply may already have used 2 of its click's
 * (doors/slack/render.ts): 3 are left, whichever URL a follow-up goes to.
 */
const MAX_ATTEMPTS: Record<FollowupTarget['kind'], number> = { slack: 3, discord: 4 }

/** What a follow-up tells, and whose it is for the audit trail. */
type Subject = { principal: string; name: string; text: string }

/** Follow-ups of one cluster's events and queries, in its Durable Object's storage. */
export class FollowupStore {
  readonly #sql: SqlStorage

  constructor(sql: SqlStorage) {
    this.#sql = sql
  }

  /** Keep `target` for the event or query `id`, until it settles. */
  add(id: string, target: FollowupTarget): void {
    this.#sql.exec(
      `INSERT OR IGNORE INTO followups (event_id, kind, url, expires_at, announce, label) VALUES (?, ?, ?, ?, ?, ?)`,
      id,
      target.kind,
      target.url,
      target.expiresAt,
      target.announce ? 1 : 0,
      target.label,
    )
  }

  /** Mark due every waiting follow-up whose event settled or whose query ended; true when any is due now. */
  markSettled(now: number): boolean {
    this.#sql.exec(
      `UPDATE followups SET state = 'due', next_at = ? WHERE state = 'waiting'
         AND (event_id IN (SELECT id FROM events WHERE state != 'queued')
           OR event_id IN (SELECT id FROM queries WHERE state NOT IN ('queued', 'running')))`,
      now,
    )
    return this.nextDue() !== null
  }

  /** When the next due follow-up should be sent, or null. */
  nextDue(): number | null {
    return this.#sql.exec<{ at: number | null }>(`SELECT MIN(next_at) AS at FROM followups WHERE state = 'due'`).one()
      .at
  }

  /**
   * Send what is due, one request each; retry failures with backoff until the platform's
   * deadline. Returns what the audit trail should record of each finished follow-up.
   */
  async send(now: number, fetcher: typeof fetch): Promise<AuditEntry[]> {
    const rows = this.#sql
      .exec<FollowupRow>(`SELECT * FROM followups WHERE state = 'due' AND next_at <= ? ORDER BY next_at LIMIT 50`, now)
      .toArray()
    const audit: AuditEntry[] = []
    for (const row of rows) {
      const subject = this.#subject(row)
      // Pruned with its event or query after retention; prune() forgets the follow-up too.
      if (!subject) continue
      const entry = { door: row.kind, principal: subject.principal, name: subject.name, eventId: row.event_id }
      if (now >= row.expires_at) {
        this.#finish(row.event_id, 'lapsed', 'the platform no longer accepts a reply')
        audit.push({ ...entry, decision: 'followup-lapsed', reason: `${row.kind} reply window closed` })
        continue
      }
      const error = await post(fetcher, row, subject.text)
      if (error === null) {
        this.#finish(row.event_id, 'sent', null)
        audit.push({ ...entry, decision: 'followup-sent' })
      } else if (row.attempts + 1 >= MAX_ATTEMPTS[row.kind]) {
        this.#finish(row.event_id, 'failed', error)
        audit.push({ ...entry, decision: 'followup-failed', reason: error })
      } else {
        const retryAt = now + backoffDelay({ initialMs: 2_000, maxMs: 60_000 }, row.attempts + 1)
        this.#sql.exec(
          'UPDATE followups SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE event_id = ?',
          retryAt,
          error,
          row.event_id,
        )
      }
    }
    return audit
  }

  /** Forget follow-ups of events and queries that are gone. */
  prune(): void {
    this.#sql.exec(
      `DELETE FROM followups WHERE event_id NOT IN (SELECT id FROM events)
         AND event_id NOT IN (SELECT id FROM queries)`,
    )
  }

  /** What the follow-up of `row` tells: an event's outcome, or a query's answers fitted to the platform. */
  #subject(row: FollowupRow): Subject | undefined {
    if (row.event_id.startsWith('qry_')) {
      const query = this.#sql.exec<QueryRow>('SELECT * FROM queries WHERE id = ?', row.event_id).toArray()[0]
      if (!query) return undefined
      const records = this.#sql
        .exec<QueryRecordRow>('SELECT * FROM query_records WHERE query_id = ? ORDER BY idx', query.id)
        .toArray()
      const report = {
        id: query.id,
        state: query.state,
        requestAck: query.request_ack === 1,
        ...answersOf(records),
        ...(query.error !== null ? { error: query.error } : {}),
      }
      return {
        principal: query.sender,
        name: query.name,
        text: queryReportText(report, row.label, CHAT_TEXT_LIMIT[row.kind]),
      }
    }
    const event = this.#sql
      .exec<Pick<EventRow, 'sender' | 'name' | 'state' | 'error' | 'seq'>>(
        'SELECT sender, name, state, error, seq FROM events WHERE id = ?',
        row.event_id,
      )
      .toArray()[0]
    return event && { principal: event.sender, name: event.name, text: outcomeText({ ...event, label: row.label }) }
  }

  #finish(id: string, state: string, error: string | null): void {
    this.#sql.exec('UPDATE followups SET state = ?, last_error = ? WHERE event_id = ?', state, error, id)
  }
}

/** The outcome in one line, as chat users read it. */
export function outcomeText(event: Pick<EventRow, 'state' | 'error' | 'seq'> & { label: string }): string {
  if (event.state === 'delivered') return `✅ ${event.label} delivered to Serf (#${event.seq})`
  if (event.state === 'rejected') return `❌ ${event.label} rejected by Serf (#${event.seq}): ${event.error ?? ''}`
  return `⌛ ${event.label} expired (#${event.seq}): no bridge delivered it in time`
}

// Slack reads `&`, `<` and `>` as markup (`<!channel>` would notify everyone); a label quotes a payload.
const slackText = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

// Slack: a new message through response_url; Discord: an edit of the original response.
async function post(fetcher: typeof fetch, row: FollowupRow, text: string): Promise<string | null> {
  const body =
    row.kind === 'slack'
      ? {
          response_type: row.announce === 1 ? 'in_channel' : 'ephemeral',
          replace_original: false,
          text: slackText(text),
        }
      : { content: text, components: [], allowed_mentions: { parse: [] } }
  try {
    const response = await fetcher(row.url, {
      method: row.kind === 'slack' ? 'POST' : 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    })
    await response.body?.cancel()
    return response.ok ? null : `HTTP ${response.status}`
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}
