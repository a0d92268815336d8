/**
 * The cluster's audit trail, kept in the same SQLite storage as its queue so that an attempt
 * and the event it queued are written in one transaction, and the event's final status is read
 * by joining the two, never copied.
 */
import type { AuditDecision, AuditRecord } from '../../protocol/audit.ts'
import type { AuditRow, EventRow } from './schema.ts'

/** One attempt, as a door or the enqueue path reports it. */
export interface AuditEntry {
  door: string
  principal: string
  channel?: string
  name?: string
  payloadSha256?: string
  decision: AuditDecision
  reason?: string
  eventId?: string
}

/** Which records to read. */
export interface AuditQuery {
  /** Only records after this position (default 0). */
  after?: number
  /** Only records at or after this time (ms since the epoch). */
  sinceMs?: number
  principal?: string
  limit: number
}

type JoinedRow = AuditRow & Pick<EventRow, 'state' | 'error'>

export class AuditLog {
  readonly #sql: SqlStorage

  constructor(sql: SqlStorage) {
    this.#sql = sql
  }

  /** Append one attempt at `now`. */
  record(entry: AuditEntry, now: number): void {
    this.#sql.exec(
      `INSERT INTO audit (at, door, principal, channel, name, payload_sha256, decision, reason, event_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      now,
      entry.door,
      entry.principal,
      entry.channel ?? null,
      entry.name ?? null,
      entry.payloadSha256 ?? null,
      entry.decision,
      entry.reason ?? null,
      entry.eventId ?? null,
    )
  }

  /** Records in order, each with its event's status now; one more than `limit` tells of a next page. */
  read(cluster: string, query: AuditQuery): { records: AuditRecord[]; next?: number } {
    const rows = this.#sql
      .exec<JoinedRow>(
        `SELECT audit.*, events.state AS state, events.error AS error
         FROM audit LEFT JOIN events ON events.id = audit.event_id
         WHERE audit.seq > ? AND audit.at >= ? AND (? IS NULL OR audit.principal = ?)
         ORDER BY audit.seq LIMIT ?`,
        query.after ?? 0,
        query.sinceMs ?? 0,
        query.principal ?? null,
        query.principal ?? null,
        query.limit + 1,
      )
      .toArray()
    const page = rows.slice(0, query.limit).map((row) => toRecord(cluster, row))
    return rows.length > query.limit ? { records: page, next: page.at(-1)!.seq } : { records: page }
  }

  /** Forget what is older than `before` (ms since the epoch); the alarm calls it with the retention. */
  prune(before: number): void {
    this.#sql.exec('DELETE FROM audit WHERE at < ?', before)
  }

  /** Whether anything is left to prune later. */
  get empty(): boolean {
    return this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM (SELECT 1 FROM audit LIMIT 1)').one().n === 0
  }
}

function toRecord(cluster: string, row: JoinedRow): AuditRecord {
  return {
    seq: row.seq,
    at: new Date(row.at).toISOString(),
    door: row.door,
    principal: row.principal,
    ...(row.channel !== null ? { channel: row.channel } : {}),
    cluster,
    ...(row.name !== null ? { name: row.name } : {}),
    ...(row.payload_sha256 !== null ? { payloadSha256: row.payload_sha256 } : {}),
    decision: row.decision,
    ...(row.reason !== null ? { reason: row.reason } : {}),
    ...(row.event_id !== null ? { eventId: row.event_id } : {}),
    ...(row.state ? { status: row.state } : {}),
    ...(row.error ? { error: row.error } : {}),
  }
}
