/**
 * `ClusterQueue`: one Durable Object per cluster, the single owner of that cluster's state in
 * SQLite storage: the event log (event-log.ts), the bridge lease (lease.ts), the audit trail,
 * confirmations, follow-ups, the query lane and the members snapshot, each in a module of its
 * own. This class answers the bridge's waiting long-polls (wake-socket.ts), keeps the alarm, and
 * runs the transactions that span those modules. It holds nothing in memory between requests,
 * so it can hibernate while a bridge waits. Only the holder of the current lease token can
 * settle events (fencing).
 */
import { DurableObject } from 'cloudflare:workers'
import type { AuditPage } from '../../protocol/audit.ts'
import type { Member, QueryRecord, QueryStatus, QueryTask } from '../../protocol/query.ts'
import type { EventAccepted, EventStatus, Lease, QueuedEvent } from '../../protocol/wire.ts'
import type { ClusterSettings } from '../config.ts'
import { type AuditEntry, AuditLog, type AuditQuery } from './audit-log.ts'
import { EventLog } from './event-log.ts'
import { FollowupStore, type FollowupTarget } from './followups.ts'
import { type LeaseLost, LeaseStore, type Standby } from './lease.ts'
import { MembersStore, type MembersView } from './members.ts'
import { type Decision, type PendingInput, PendingStore } from './pending.ts'
import {
  type FencedInput,
  type LaneContext,
  QueryLane,
  type RecordsResult,
  type SubmitQueryInput,
  type SubmitQueryResult,
  serfDefaultTimeoutBoundMs,
} from './query-lane.ts'
import { SCHEMA } from './schema.ts'
import { acceptWait, answerWaiting, type EventsWait, readWait } from './wake-socket.ts'

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
}

export type PollResult =
  | { kind: 'events'; lease: Lease; events: QueuedEvent[]; settledThrough: number; backlog: number }
  | Standby

export interface AckInput {
  settings: ClusterSettings
  bridgeId: string
  leaseToken: number
  through: number
  rejected: { sequence: number; error: string }[]
}

export type AckResult =
  | { kind: 'acked'; delivered: number; rejected: number; settledThrough: number }
  | LeaseLost
  | { kind: 'invalid'; detail: string }

/** How often the alarm expires, prunes and retries follow-ups while the log holds anything. */
const ALARM_INTERVAL_MS = 60_000
/** Decided and expired confirmations are kept a day; the audit trail keeps their story. */
const PENDING_KEPT_MS = 86_400_000

export class ClusterQueue extends DurableObject {
  #sql: SqlStorage
  #events: EventLog
  #lease: LeaseStore
  #audit: AuditLog
  #confirmations: PendingStore
  #followups: FollowupStore
  #queries: QueryLane
  #members: MembersStore

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never)
    this.#sql = ctx.storage.sql
    this.#sql.exec(SCHEMA)
    this.#events = new EventLog(this.#sql)
    this.#lease = new LeaseStore(this.#sql)
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
    const seen = this.#events.seen(input.sender, input.requestId)
    if (seen) {
      if (seen.body_hash !== input.bodyHash) return { kind: 'conflict', eventId: seen.id }
      this.#audit.record({ ...this.#attempt(input), decision: 'replayed', eventId: seen.id }, now)
      return { kind: 'accepted', accepted: this.#accepted(input.settings, seen), replayed: true }
    }
    this.#expireStale(input.settings, now)
    const queued = this.#events.queuedCount()
    if (queued >= input.settings.maxQueuedEvents) return { kind: 'full', queued }

    const id = `evt_${crypto.randomUUID().replaceAll('-', '')}`
    const seq = this.ctx.storage.transactionSync(() => {
      this.#audit.record({ ...this.#attempt(input), decision: 'queued', eventId: id }, now)
      if (input.followup) this.#followups.add(id, input.followup)
      return this.#events.insert({ id, ...input }, now)
    })
    // Answered in this turn, a waiting poll's lease renewal and hand-out join the append's commit.
    answerWaiting<EventsWait>(this.ctx, 'events', (wait) => this.#poll({ settings: input.settings, ...wait }))
    await this.#ensureAlarm(now)
    return { kind: 'accepted', accepted: this.#accepted(input.settings, { id, seq }), replayed: false }
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

  /** An event's status, visible only to the sender that queued it (`null`: to anyone allowed the cluster). */
  async status(settings: ClusterSettings, sender: string | null, id: string): Promise<EventStatus | null> {
    this.#expireStale(settings, Date.now())
    return this.#events.status(settings.id, sender, id)
  }

  /** The cluster's newest events, newest first, with who queued each (the on-call page's list). */
  async recent(settings: ClusterSettings, limit: number): Promise<(EventStatus & { principal: string })[]> {
    this.#expireStale(settings, Date.now())
    return this.#events.recent(settings.id, limit)
  }

  /**
   * Hand queued events above `after` to the lease holder, granting or renewing the lease. Never
   * waits: with nothing queued, the Worker waits (wake-socket.ts) and the next append answers it.
   */
  async poll(input: PollInput): Promise<PollResult> {
    return this.#poll(input)
  }

  /** Settle every queued event up to `through`: delivered, or rejected with Serf's text. */
  async ack(input: AckInput): Promise<AckResult> {
    const now = Date.now()
    const lost = this.#lease.fence(input.leaseToken, now)
    if (lost) return lost
    const maxSeq = this.#events.maxSeq()
    if (input.through > maxSeq) {
      return { kind: 'invalid', detail: `through ${input.through} is beyond the last sequence ${maxSeq}` }
    }
    const stray = input.rejected.find((r) => r.sequence > input.through)
    if (stray) return { kind: 'invalid', detail: `rejected sequence ${stray.sequence} is beyond through` }
    const settled = this.ctx.storage.transactionSync(() => {
      this.#lease.extend(now + input.settings.leaseTtlMs)
      return this.#events.settle(input.through, input.rejected, now)
    })
    if (this.#followups.markSettled(now)) await this.ctx.storage.setAlarm(now)
    return { kind: 'acked', ...settled, settledThrough: this.#events.settledThrough() }
  }

  /** Give the lease up so a standby bridge can take over at once. */
  async release(bridgeId: string, leaseToken: number): Promise<boolean> {
    return this.#lease.release(bridgeId, leaseToken)
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
    if (result.kind === 'accepted' && !result.replayed) answerWaiting(this.ctx, 'queries', () => null)
    await this.#ensureAlarm(ctx.now)
    await this.#alarmByQueryDeadline(ctx)
    return result
  }

  /** A query's state and its answers so far, visible only to the sender that asked it. */
  async queryStatus(settings: ClusterSettings, sender: string, id: string): Promise<QueryStatus | null> {
    return this.#queries.status(settings.id, id, sender, this.#laneContext())
  }

  /**
   * Hand queued queries to the lease holder. Never waits: with none, the Worker waits
   * (wake-socket.ts) until a query is asked, then polls again.
   */
  async pollQueries(input: FencedInput): Promise<LeaseLost | { kind: 'queries'; queries: QueryTask[] }> {
    this.#remember(input.settings)
    const lost = this.#fence(input.leaseToken)
    if (lost) return lost
    const queries = this.#queries.handOut(input.bridgeId, input.leaseToken, this.#laneContext())
    if (queries.length > 0) await this.#alarmByQueryDeadline(this.#laneContext())
    return { kind: 'queries', queries }
  }

  /**
   * A Worker holding a bridge's long-poll asks to be answered when there is something for it
   * (wake-socket.ts): accept its socket, or, when there is something already, let it poll now.
   */
  override async fetch(request: Request): Promise<Response> {
    const wait = readWait(request)
    if (!wait) return new Response(null, { status: 404 })
    const ready = wait.lane === 'events' ? this.#events.queuedAbove(wait.after) : this.#queries.anyQueued
    return acceptWait(this.ctx, wait, ready)
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
    this.#events.prune(now - settings.retentionMs)
    this.#audit.prune(now - settings.retentionMs)
    this.#confirmations.prune(now - PENDING_KEPT_MS)
    this.#queries.prune(now - settings.retentionMs)
    this.#followups.prune()
    const stored = !this.#events.empty || !this.#audit.empty || !this.#queries.empty
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

  #poll(input: PollInput): PollResult {
    const settings = input.settings
    this.#remember(settings)
    const lease = this.#lease.acquire(input.bridgeId, settings.leaseTtlMs, Date.now())
    if (!('token' in lease)) return lease
    const events = this.#handOut(settings, input.after, input.limit)
    const settledThrough = this.#events.settledThrough()
    return { kind: 'events', lease, events, settledThrough, backlog: this.#events.queuedCount() }
  }

  #handOut(settings: ClusterSettings, after: number, limit: number): QueuedEvent[] {
    const now = Date.now()
    this.#expireStale(settings, now)
    return this.#events.handOut(after, limit, now)
  }

  #expireStale(settings: ClusterSettings, now: number): void {
    this.#events.expireQueuedBefore(now - settings.maxEventAgeMs, now)
  }

  #fence(token: number): LeaseLost | null {
    return this.#lease.fence(token, Date.now())
  }

  #laneContext(now = Date.now()): LaneContext {
    return {
      now,
      leaseToken: this.#lease.current()?.token,
      defaultTimeoutMs: serfDefaultTimeoutBoundMs(this.#members.count()),
      longestMemberName: this.#members.longestName(),
    }
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
