/**
 * The cluster's ordered, durable event log in SQLite storage.
 *
 * Invariants kept here:
 * - sequence numbers come from `seq INTEGER PRIMARY KEY AUTOINCREMENT` inside a single-threaded
 *   object, so they strictly increase without gaps or duplicates;
 * - queued events always form one contiguous range above `settledThrough`, because acks settle
 *   everything up to a sequence and expiry settles the oldest first.
 */
import { toBase64 } from '../../protocol/bytes.ts'
import type { EventStatus, QueuedEvent } from '../../protocol/wire.ts'
import type { EventRow } from './schema.ts'

/** An event to insert, as the enqueue path checked it. */
export interface NewEvent {
  id: string
  sender: string
  requestId: string
  bodyHash: string
  name: string
  payload: Uint8Array
  coalesce: boolean
}

export class EventLog {
  readonly #sql: SqlStorage

  constructor(sql: SqlStorage) {
    this.#sql = sql
  }

  /** The event a sender queued under `requestId` before, if any. */
  seen(sender: string, requestId: string): Pick<EventRow, 'id' | 'seq' | 'body_hash'> | undefined {
    return this.#sql
      .exec<Pick<EventRow, 'id' | 'seq' | 'body_hash'>>(
        'SELECT id, seq, body_hash FROM events WHERE sender = ? AND request_id = ?',
        sender,
        requestId,
      )
      .toArray()[0]
  }

  /** Append an event; returns its sequence number. */
  insert(event: NewEvent, now: number): number {
    return this.#sql
      .exec<{ seq: number }>(
        `INSERT INTO events (id, sender, request_id, body_hash, name, payload, coalesce_flag, enqueued_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
        event.id,
        event.sender,
        event.requestId,
        event.bodyHash,
        event.name,
        event.payload,
        event.coalesce ? 1 : 0,
        now,
      )
      .one().seq
  }

  /** An event's status, visible only to the sender that queued it (`null`: to anyone allowed the cluster). */
  status(cluster: string, sender: string | null, id: string): EventStatus | null {
    const row = this.#sql
      .exec<EventRow>('SELECT * FROM events WHERE id = ? AND (? IS NULL OR sender = ?)', id, sender, sender)
      .toArray()[0]
    return row ? toStatus(cluster, row) : null
  }

  /** The newest `limit` events, newest first, with who queued each. */
  recent(cluster: string, limit: number): (EventStatus & { principal: string })[] {
    return this.#sql
      .exec<EventRow>('SELECT * FROM events ORDER BY seq DESC LIMIT ?', limit)
      .toArray()
      .map((row) => ({ ...toStatus(cluster, row), principal: row.sender }))
  }

  /** Hand out up to `limit` queued events above `after`, in order, marking when they left. */
  handOut(after: number, limit: number, now: number): QueuedEvent[] {
    const rows = this.#sql
      .exec<EventRow>(
        `UPDATE events SET handed_at = ? WHERE seq IN (
           SELECT seq FROM events WHERE state = 'queued' AND seq > ? ORDER BY seq LIMIT ?)
         RETURNING *`,
        now,
        after,
        limit,
      )
      .toArray()
      .sort((a, b) => a.seq - b.seq)
    return rows.map((row) => ({
      sequence: row.seq,
      id: row.id,
      name: row.name,
      payloadBase64: toBase64(new Uint8Array(row.payload)),
      coalesce: row.coalesce_flag === 1,
      enqueuedAt: new Date(row.enqueued_at).toISOString(),
    }))
  }

  /** Whether any queued event is above `after`: what a poll from `after` would hand out. */
  queuedAbove(after: number): boolean {
    return this.#sql.exec(`SELECT 1 FROM events WHERE state = 'queued' AND seq > ? LIMIT 1`, after).toArray().length > 0
  }

  /** Expire what was queued before `before` and is still undelivered. */
  expireQueuedBefore(before: number, now: number): void {
    this.#sql.exec(
      `UPDATE events SET state = 'expired', settled_at = ? WHERE state = 'queued' AND enqueued_at < ?`,
      now,
      before,
    )
  }

  /**
   * Settle every event up to `through`: the `rejected` ones with Serf's text, the rest delivered.
   * Run inside a transaction.
   */
  settle(through: number, rejected: { sequence: number; error: string }[], now: number) {
    // An event handed out and then expired while in flight was still emitted: the bridge's word wins.
    const settleable = `seq <= ? AND (state = 'queued' OR (state = 'expired' AND handed_at IS NOT NULL))`
    let refused = 0
    for (const r of rejected) {
      refused += this.#sql
        .exec(
          `UPDATE events SET state = 'rejected', error = ?, settled_at = ? WHERE seq = ? AND ${settleable} RETURNING seq`,
          r.error,
          now,
          r.sequence,
          through,
        )
        .toArray().length
    }
    const delivered = this.#sql
      .exec(`UPDATE events SET state = 'delivered', settled_at = ? WHERE ${settleable} RETURNING seq`, now, through)
      .toArray().length
    return { delivered, rejected: refused }
  }

  /** Events still queued, handed out or not: the bridge's lag. */
  queuedCount(): number {
    const low = this.#lowestQueued()
    return low === null ? 0 : this.maxSeq() - low + 1
  }

  /** Highest sequence settled (delivered, rejected or expired) with no queued event below it. */
  settledThrough(): number {
    const low = this.#lowestQueued()
    return low === null ? this.maxSeq() : low - 1
  }

  /** Highest sequence ever issued, pruned rows included. */
  maxSeq(): number {
    const row = this.#sql.exec<{ seq: number }>(`SELECT seq FROM sqlite_sequence WHERE name = 'events'`).toArray()[0]
    return row?.seq ?? 0
  }

  /** Whether any event is stored at all. */
  get empty(): boolean {
    return (this.#sql.exec<{ n: number | null }>('SELECT MAX(seq) AS n FROM events').one().n ?? 0) === 0
  }

  /** Forget settled events settled before `before`. */
  prune(before: number): void {
    this.#sql.exec(`DELETE FROM events WHERE state != 'queued' AND settled_at < ?`, before)
  }

  #lowestQueued(): number | null {
    return this.#sql.exec<{ low: number | null }>(`SELECT MIN(seq) AS low FROM events WHERE state = 'queued'`).one().low
  }
}

function toStatus(cluster: string, row: EventRow): EventStatus {
  return {
    id: row.id,
    cluster,
    sequence: row.seq,
    name: row.name,
    coalesce: row.coalesce_flag === 1,
    status: row.state,
    enqueuedAt: new Date(row.enqueued_at).toISOString(),
    ...(row.settled_at !== null ? { settledAt: new Date(row.settled_at).toISOString() } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
  }
}
