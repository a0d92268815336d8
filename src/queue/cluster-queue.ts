/**
 * `ClusterQueue`: one Durable Object per cluster, the single owner of that cluster's ordered,
 * durable event log (SQLite storage), its bridge lease and its long-poll waiters.
 *
 * Invariants kept here:
 * - sequence numbers come from `seq INTEGER PRIMARY KEY AUTOINCREMENT` inside a single-threaded
 *   object, so they strictly increase without gaps or duplicates;
 * - queued events always form one contiguous range above `settledThrough`, because acks settle
 *   everything up to a sequence and expiry settles the oldest first;
 * - only the holder of the current lease token can settle events (fencing).
 */
import { DurableObject } from 'cloudflare:workers'
import type { AuditPage } from '../../protocol/audit.ts'
import { toBase64 } from '../../protocol/bytes.ts'
import type { Member, QueryRecord, QueryStatus, QueryTask } from '../../protocol/query.ts'
import type { EventAccepted, EventStatus, Lease, QueuedEvent } from '../../protocol/wire.ts'
import type { ClusterSettings } from '../config.ts'
import { type AuditEntry, AuditLog, type AuditQuery } from './audit-log.ts'
import { FollowupStore, type FollowupTarget } from './followups.ts'
import { MembersStore, type MembersView } from './members.ts'
import { type Decision, type PendingInput, PendingStore } from './pending.ts'
import {
  type FencedInput,
  type LaneContext,
  type LeaseLost,
  QueryLane,
  type RecordsResult,
  type SubmitQueryInput,
  type SubmitQueryResult,
  serfDefaultTimeoutBoundMs,
} from './query-lane.ts'
import { type EventRow, type LeaseRow, SCHEMA } from './schema.ts'

/** What the worker hands to {@link ClusterQueue.append}. */
export interface AppendInput {
  settings: ClusterSettings
  sender: string
  requestId: string
  bodyHash: string
  name: string
  payload: Uint8Array
  coalesce: boolean
  /** What the audit trail records of this attempt besides the outcome. */
  audit: Pick<AuditEntry, 'door' | 'channel' | 'payloadSha256'>
  /** Where to report the outcome once the event settles. */
  followup?: FollowupTarget
}

export type AppendResult =
  | { kind: 'accepted'; accepted: EventAccepted; replayed: boolean }
  | { kind: 'conflict'; eventId: string }
  | { kind: 'full'; queued: number }

export interface PollInput {
  settings: ClusterSettings
  bridgeId: string
  after: number
  limit: number
  waitMs: number
}

export type PollResult =
  | { kind: 'events'; lease: Lease; events: QueuedEvent[]; settledThrough: number; backlog: number }
  | { kind: 'standby'; holder: string; retryAfterMs: number }

export interface AckInput {
  settings: ClusterSettings
  bridgeId: string
  leaseToken: number
  through: number
  rejected: { sequence: number; error: string }[]
}

export type AckResult =
  | { kind: 'acked'; delivered: number; rejected: number; settledThrough: number }
  | { kind: 'lease-lost'; holder: string | null }
  | { kind: 'invalid'; detail: string }

/** How often the alarm expires, prunes and retries follow-ups while the log holds anything. */
const ALARM_INTERVAL_MS = 60_000
/** Decided and expired confirmations are kept a day; the audit trail keeps their story. */
const PENDING_KEPT_MS = 86_400_000

export class ClusterQueue extends DurableObject {
  #sql: SqlStorage
  #audit: AuditLog
  #confirmations: PendingStore
  #followups: FollowupStore
  #queries: QueryLane
  #members: MembersStore
  #waiters = new Set<() => void>()

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never)
    this.#sql = ctx.storage.sql
    this.#sql.exec(SCHEMA)
    this.#audit = new AuditLog(this.#sql)
    this.#confirmations = new PendingStore(this.#sql)
    this.#followups = new FollowupStore(this.#sql)
    this.#queries = new QueryLane(this.#sql, this.#audit)
    this.#members = new MembersStore(this.#sql)
  }

  /** Queue an event, or return the original answer when this request id was seen before. */
  async append(input: AppendInput): Promise<AppendResult> {
    const now = Date.now()
    this.#remember(input.settings)
    const seen = this.#sql
      .exec<Pick<EventRow, 'id' | 'seq' | 'body_hash'>>(
        'SELECT id, seq, body_hash FROM events WHERE sender = ? AND request_id = ?',
        input.sender,
        input.requestId,
      )
      .toArray()[0]
    if (seen) {
      if (seen.body_hash !== input.bodyHash) return { kind: 'conflict', eventId: seen.id }
      this.#audit.record({ ...this.#attempt(input), decision: 'replayed', eventId: seen.id }, now)
      return { kind: 'accepted', accepted: this.#accepted(input.settings, seen), replayed: true }
    }
    this.#expireStale(input.settings, now)
    const queued = this.#queuedCount()
    if (queued >= input.settings.maxQueuedEvents) return { kind: 'full', queued }

    const id = `evt_${crypto.randomUUID().replaceAll('-', '')}`
    const row = this.ctx.storage.transactionSync(() => {
      this.#audit.record({ ...this.#attempt(input), decision: 'queued', eventId: id }, now)
      if (input.followup) this.#followups.add(id, input.followup)
      return this.#sql
        .exec<{ seq: number }>(
          `INSERT INTO events (id, sender, request_id, body_hash, name, payload, coalesce_flag, enqueued_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
          id,
          input.sender,
          input.requestId,
          input.bodyHash,
          input.name,
          input.payload,
          input.coalesce ? 1 : 0,
          now,
        )
        .one()
    })
    this.#wakeWaiters()
    await this.#ensureAlarm(now)
    return { kind: 'accepted', accepted: this.#accepted(input.settings, { id, seq: row.seq }), replayed: false }
  }

  /** Record an attempt decided outside the queue: a refusal, a pending event's fate. */
  async recordAttempt(settings: ClusterSettings, entry: AuditEntry): Promise<void> {
    const now = Date.now()
    this.#remember(settings)
    this.#audit.record(entry, now)
    await this.#ensureAlarm(now)
  }

  /** Hold an event for a confirmation or an approval; recorded as `pending`. */
  async openPending(
    settings: ClusterSettings,
    input: PendingInput,
    audit: Omit<AuditEntry, 'decision'>,
  ): Promise<void> {
    const now = Date.now()
    this.#remember(settings)
    this.ctx.storage.transactionSync(() => {
      this.#confirmations.open(input, now)
      this.#audit.record({ ...audit, decision: 'pending' }, now)
    })
    await this.#ensureAlarm(now)
  }

  /** Settle a click on a pending event: single-use, bound to who may complete it. */
  async decidePending(id: string, actor: string, action: 'fire' | 'cancel'): Promise<Decision> {
    return this.#confirmations.decide(id, actor, action, Date.now())
  }

  /** A page of the audit trail, oldest first, each record with its event's status now. */
  async readAudit(settings: ClusterSettings, query: AuditQuery): Promise<AuditPage> {
    this.#expireStale(settings, Date.now())
    return { cluster: settings.id, ...this.#audit.read(settings.id, query) }
  }

  /** An event's status, visible only to the sender that queued it. */
  async status(settings: ClusterSettings, sender: string, id: string): Promise<EventStatus | null> {
    this.#expireStale(settings, Date.now())
    const row = this.#sql.exec<EventRow>('SELECT * FROM events WHERE id = ? AND sender = ?', id, sender).toArray()[0]
    if (!row) return null
    return {
      id: row.id,
      cluster: settings.id,
      sequence: row.seq,
      name: row.name,
      coalesce: row.coalesce_flag === 1,
      status: row.state,
      enqueuedAt: new Date(row.enqueued_at).toISOString(),
      ...(row.settled_at !== null ? { settledAt: new Date(row.settled_at).toISOString() } : {}),
      ...(row.error !== null ? { error: row.error } : {}),
    }
  }

  /**
   * Hand queued events above `after` to the lease holder, granting or renewing the lease.
   * With nothing queued, wait until an append wakes us or `waitMs` passes (an empty page).
   */
  async poll(input: PollInput): Promise<PollResult> {
    const settings = input.settings
    this.#remember(settings)
    let lease = this.#acquire(input.bridgeId, settings, Date.now())
    if (!('token' in lease)) return lease
    let events = this.#pending(settings, input.after, input.limit)
    if (events.length === 0 && input.waitMs > 0) {
      // A lease shorter than the wait would lapse under a waiting holder; keep it alive.
      await this.#wait(Math.min(input.waitMs, settings.leaseTtlMs / 2))
      lease = this.#acquire(input.bridgeId, settings, Date.now())
      if (!('token' in lease)) return lease
      events = this.#pending(settings, input.after, input.limit)
    }
    return { kind: 'events', lease, events, settledThrough: this.#settledThrough(), backlog: this.#queuedCount() }
  }

  /** Settle every queued event up to `through`: delivered, or rejected with Serf's text. */
  async ack(input: AckInput): Promise<AckResult> {
    const now = Date.now()
    const current = this.#lease()
    if (!current || current.token !== input.leaseToken) {
      return { kind: 'lease-lost', holder: current && current.expires_at > now ? current.bridge_id : null }
    }
    const maxSeq = this.#maxSeq()
    if (input.through > maxSeq) {
      return { kind: 'invalid', detail: `through ${input.through} is beyond the last sequence ${maxSeq}` }
    }
    const stray = input.rejected.find((r) => r.sequence > input.through)
    if (stray) return { kind: 'invalid', detail: `rejected sequence ${stray.sequence} is beyond through` }

    // An event handed out and then expired while in flight was still emitted: the bridge's word wins.
    const settleable = `seq <= ? AND (state = 'queued' OR (state = 'expired' AND handed_at IS NOT NULL))`
    let rejected = 0
    let delivered = 0
    this.ctx.storage.transactionSync(() => {
      for (const r of input.rejected) {
        rejected += this.#sql
          .exec(
            `UPDATE events SET state = 'rejected', error = ?, settled_at = ? WHERE seq = ? AND ${settleable} RETURNING seq`,
            r.error,
            now,
            r.sequence,
            input.through,
          )
          .toArray().length
      }
      delivered = this.#sql
        .exec(
          `UPDATE events SET state = 'delivered', settled_at = ? WHERE ${settleable} RETURNING seq`,
          now,
          input.through,
        )
        .toArray().length
      this.#sql.exec('UPDATE lease SET expires_at = ? WHERE id = 1', now + input.settings.leaseTtlMs)
    })
    if (this.#followups.markSettled(now)) await this.ctx.storage.setAlarm(now)
    return { kind: 'acked', delivered, rejected, settledThrough: this.#settledThrough() }
  }

  /** Give the lease up so a standby bridge can take over at once. */
  async release(bridgeId: string, leaseToken: number): Promise<boolean> {
    const current = this.#lease()
    if (!current || current.token !== leaseToken || current.bridge_id !== bridgeId) return false
    this.#sql.exec('UPDATE lease SET expires_at = 0 WHERE id = 1')
    return true
  }

  /**
   * Queue a query in the queries lane, which the bridge polls apart from the event backlog; with
   * a follow-up, its answers are posted to the chat when it ends.
   */
  async submitQuery(
    settings: ClusterSettings,
    input: SubmitQueryInput & { followup?: FollowupTarget },
  ): Promise<SubmitQueryResult> {
    this.#remember(settings)
    const ctx = this.#laneContext()
    const result = this.ctx.storage.transactionSync(() => {
      const submitted = this.#queries.submit(settings, input, ctx)
      if (submitted.kind === 'accepted' && input.followup) this.#followups.add(submitted.accepted.id, input.followup)
      return submitted
    })
    await this.#ensureAlarm(ctx.now)
    await this.#alarmByQueryDeadline(ctx)
    return result
  }

  /** A query's state and its answers so far, visible only to the sender that asked it. */
  async queryStatus(settings: ClusterSettings, sender: string, id: string): Promise<QueryStatus | null> {
    return this.#queries.status(settings.id, id, sender, this.#laneContext())
  }

  /** Hand queued queries to the lease holder; with none, wait until one is queued or `waitMs` passes. */
  async pollQueries(
    input: FencedInput & { waitMs: number },
  ): Promise<LeaseLost | { kind: 'queries'; queries: QueryTask[] }> {
    this.#remember(input.settings)
    let queries: QueryTask[] = []
    for (const wait of [0, input.waitMs]) {
      if (wait > 0) await this.#queries.wait(wait)
      const lost = this.#fence(input.leaseToken)
      if (lost) return lost
      queries = this.#queries.handOut(input.bridgeId, input.leaseToken, this.#laneContext())
      if (queries.length > 0) break
    }
    if (queries.length > 0) await this.#alarmByQueryDeadline(this.#laneContext())
    return { kind: 'queries', queries }
  }

  /** Store records the lease holder relayed from Serf's stream for a running query. */
  async appendQueryRecords(
    input: FencedInput & { id: string; records: QueryRecord[] },
  ): Promise<LeaseLost | RecordsResult> {
    const lost = this.#fence(input.leaseToken)
    if (lost) return lost
    const limit = input.settings.queryResponseSizeLimit
    const ctx = this.#laneContext()
    const result = this.ctx.storage.transactionSync(() => this.#queries.append(input.id, input.records, limit, ctx))
    if (this.#followups.markSettled(ctx.now)) await this.ctx.storage.setAlarm(ctx.now)
    return result
  }

  /** Replace the members snapshot with the lease holder's report. */
  async reportMembers(input: FencedInput & { members: Member[] }): Promise<LeaseLost | { kind: 'stored' }> {
    const lost = this.#fence(input.leaseToken)
    if (lost) return lost
    this.ctx.storage.transactionSync(() => this.#members.replace(input.bridgeId, input.members, Date.now()))
    return { kind: 'stored' }
  }

  /** The last members snapshot, or null before any bridge reported one. */
  async members(): Promise<MembersView | null> {
    return this.#members.read()
  }

  /**
   * Expire what is too old to deliver, settle queries past their deadline, send the follow-ups
   * now due, prune what is settled and past retention.
   */
  override async alarm(): Promise<void> {
    const settings = this.#settings()
    if (!settings) return
    const now = Date.now()
    this.#expireStale(settings, now)
    this.#queries.settle(this.#laneContext(now))
    this.#followups.markSettled(now)
    for (const entry of await this.#followups.send(now, fetch)) this.#audit.record(entry, Date.now())
    this.#sql.exec(`DELETE FROM events WHERE state != 'queued' AND settled_at < ?`, now - settings.retentionMs)
    this.#audit.prune(now - settings.retentionMs)
    this.#confirmations.prune(now - PENDING_KEPT_MS)
    this.#queries.prune(now - settings.retentionMs)
    this.#followups.prune()
    const stored = this.#maxSeqInTable() > 0 || !this.#audit.empty || !this.#queries.empty
    const next = Math.min(
      stored ? now + ALARM_INTERVAL_MS : Number.POSITIVE_INFINITY,
      this.#followups.nextDue() ?? Number.POSITIVE_INFINITY,
      this.#queries.nextDeadline(this.#laneContext(now)) ?? Number.POSITIVE_INFINITY,
    )
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next)
  }

  #attempt(input: AppendInput): Omit<AuditEntry, 'decision'> {
    return { ...input.audit, principal: input.sender, name: input.name }
  }

  #accepted(settings: ClusterSettings, row: { id: string; seq: number }): EventAccepted {
    return { id: row.id, cluster: settings.id, sequence: row.seq, status: 'queued' }
  }

  #acquire(bridgeId: string, settings: ClusterSettings, now: number): Lease | Extract<PollResult, { kind: 'standby' }> {
    const current = this.#lease()
    if (current && current.expires_at > now && current.bridge_id !== bridgeId) {
      return { kind: 'standby', holder: current.bridge_id, retryAfterMs: current.expires_at - now }
    }
    // The token changes only when the holder changes, so a holder's in-flight ack stays valid.
    const token = current && current.bridge_id === bridgeId ? current.token : (current?.token ?? 0) + 1
    const expiresAt = now + settings.leaseTtlMs
    this.#sql.exec(
      `INSERT INTO lease (id, token, bridge_id, expires_at) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET token = excluded.token, bridge_id = excluded.bridge_id,
         expires_at = excluded.expires_at`,
      token,
      bridgeId,
      expiresAt,
    )
    return { token, bridgeId, expiresAt: new Date(expiresAt).toISOString(), ttlMs: settings.leaseTtlMs }
  }

  #pending(settings: ClusterSettings, after: number, limit: number): QueuedEvent[] {
    const now = Date.now()
    this.#expireStale(settings, now)
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

  #expireStale(settings: ClusterSettings, now: number): void {
    this.#sql.exec(
      `UPDATE events SET state = 'expired', settled_at = ? WHERE state = 'queued' AND enqueued_at < ?`,
      now,
      now - settings.maxEventAgeMs,
    )
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#waiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#waiters.add(done)
    })
  }

  #wakeWaiters(): void {
    for (const wake of [...this.#waiters]) wake()
  }

  /** Null when `token` is the current lease token, else who holds the lease now. */
  #fence(token: number): LeaseLost | null {
    const current = this.#lease()
    if (current && current.token === token) return null
    return { kind: 'lease-lost', holder: current && current.expires_at > Date.now() ? current.bridge_id : null }
  }

  #laneContext(now = Date.now()): LaneContext {
    return {
      now,
      leaseToken: this.#lease()?.token,
      defaultTimeoutMs: serfDefaultTimeoutBoundMs(this.#members.count()),
      longestMemberName: this.#members.longestName(),
    }
  }

  #lease(): LeaseRow | undefined {
    return this.#sql.exec<LeaseRow>('SELECT * FROM lease WHERE id = 1').toArray()[0]
  }

  #queuedCount(): number {
    const low = this.#sql
      .exec<{ low: number | null }>(`SELECT MIN(seq) AS low FROM events WHERE state = 'queued'`)
      .one().low
    return low === null ? 0 : this.#maxSeq() - low + 1
  }

  #settledThrough(): number {
    const low = this.#sql
      .exec<{ low: number | null }>(`SELECT MIN(seq) AS low FROM events WHERE state = 'queued'`)
      .one().low
    return low === null ? this.#maxSeq() : low - 1
  }

  /** Highest sequence ever issued, pruned rows included. */
  #maxSeq(): number {
    const row = this.#sql.exec<{ seq: number }>(`SELECT seq FROM sqlite_sequence WHERE name = 'events'`).toArray()[0]
    return row?.seq ?? 0
  }

  #maxSeqInTable(): number {
    return this.#sql.exec<{ n: number | null }>('SELECT MAX(seq) AS n FROM events').one().n ?? 0
  }

  #remember(settings: ClusterSettings): void {
    this.#sql.exec(
      `INSERT INTO meta (key, value) VALUES ('settings', ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value != excluded.value`,
      JSON.stringify(settings),
    )
  }

  #settings(): ClusterSettings | null {
    const row = this.#sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'settings'`).toArray()[0]
    return row ? (JSON.parse(row.value) as ClusterSettings) : null
  }

  async #ensureAlarm(now: number): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + ALARM_INTERVAL_MS)
  }

  /** Move the alarm up to the lane's next deadline, so a query that ends unreported settles on time. */
  async #alarmByQueryDeadline(ctx: LaneContext): Promise<void> {
    const deadline = this.#queries.nextDeadline(ctx)
    if (deadline === null) return
    const alarm = await this.ctx.storage.getAlarm()
    if (alarm === null || alarm > deadline) await this.ctx.storage.setAlarm(deadline)
  }
}
