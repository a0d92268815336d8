/**
 * The cluster's queries lane, beside its event log in the same SQLite storage: queries wait
 * here for the bridge's query poll (never behind the event backlog), then collect the records
 * the bridge relays from Serf's stream.
 *
 * A query is `queued` until a bridge's query poll takes it (`running`), then `done` when the
 * bridge relays Serf's `done` record, which Serf sends when the deadline passes, not when every
 * node answered. It is `expired` when no bridge started it within its timeout, and `failed`
 * when Serf refused to start it, or its bridge lost the lease or went silent past the deadline
 * plus a grace: a dead bridge leaves no query hanging. Expiry and a silent or fenced-off bridge
 * are decided lazily, on every read and by the alarm.
 */
import { Base64Error, fromBase64, toBase64 } from '../../protocol/bytes.ts'
import { formatDuration } from '../../protocol/duration.ts'
import type { QueryAccepted, QueryRecord, QueryState, QueryStatus, QueryTask } from '../../protocol/query.ts'
import {
  checkQuerySize,
  DEFAULT_SOURCE_NAME_BYTES,
  type QuerySizeExcess,
  type SerfQuery,
} from '../../protocol/query-rules.ts'
import type { ClusterSettings } from '../config.ts'
import type { AuditEntry, AuditLog } from './audit-log.ts'
import { queryStatusOf } from './query-status.ts'
import type { QueryRecordRow, QueryRow } from './schema.ts'

/** How long after its deadline a running query waits for the bridge's `done`. */
export const QUERY_GRACE_MS = 10_000
/** Queries waiting for a bridge before new ones are refused: without a bridge they only expire. */
export const MAX_QUEUED_QUERIES = 100

/**
 * An upper bound on Serf's default query timeout, for queries sent with none: GossipInterval ×
 * QueryTimeoutMult (16) × ceil(log10(N + 1)) (serf/query.go), with the WAN profile's 500 ms
 * interval, the longest, and N the members last reported (10,000 before any report).
 */
export function serfDefaultTimeoutBoundMs(members: number | undefined): number {
  return 500 * 16 * Math.max(1, Math.ceil(Math.log10((members ?? 10_000) + 1)))
}

/** What the lane needs to know of the moment and of the cluster, read before each step. */
export interface LaneContext {
  now: number
  /** The events lease's current fencing token, if any bridge ever held it. */
  leaseToken: number | undefined
  /** {@link serfDefaultTimeoutBoundMs} for the cluster now. */
  defaultTimeoutMs: number
  /** UTF-8 bytes of the longest member name reported; undefined before any report. */
  longestMemberName: number | undefined
}

/** A query to queue, with what makes a retry recognisable. */
export interface SubmitQueryInput {
  sender: string
  requestId: string
  bodyHash: string
  query: SerfQuery
  audit: Pick<AuditEntry, 'door' | 'channel' | 'payloadSha256'>
}

export type SubmitQueryResult =
  | { kind: 'accepted'; accepted: QueryAccepted; replayed: boolean }
  | { kind: 'conflict'; queryId: string }
  | { kind: 'full'; queued: number }
  | { kind: 'too-large'; excess: QuerySizeExcess; nameFrom: 'members' | 'default' }

/** A bridge call that only the holder of the current events lease token may make. */
export interface FencedInput {
  settings: ClusterSettings
  bridgeId: string
  leaseToken: number
}

export type RecordsResult =
  | { kind: 'state'; state: QueryState }
  | { kind: 'unknown' }
  | { kind: 'invalid'; detail: string }

export class QueryLane {
  readonly #sql: SqlStorage
  readonly #audit: AuditLog

  constructor(sql: SqlStorage, audit: AuditLog) {
    this.#sql = sql
    this.#audit = audit
  }

  /**
   * Queue a query, or answer a retried request as the first time (even if the members reported
   * since would now bound it differently); call in a transaction. The size rule counts the
   * source node's name as the longest member name reported, or a default bound before any.
   */
  submit(
    settings: Pick<ClusterSettings, 'id' | 'querySizeLimit'>,
    input: SubmitQueryInput,
    ctx: LaneContext,
  ): SubmitQueryResult {
    const cluster = settings.id
    const attempt = { ...input.audit, principal: input.sender, name: input.query.name }
    const seen = this.#sql
      .exec<Pick<QueryRow, 'id' | 'body_hash'>>(
        'SELECT id, body_hash FROM queries WHERE sender = ? AND request_id = ?',
        input.sender,
        input.requestId,
      )
      .toArray()[0]
    if (seen) {
      if (seen.body_hash !== input.bodyHash) return { kind: 'conflict', queryId: seen.id }
      this.#audit.record({ ...attempt, decision: 'replayed', eventId: seen.id }, ctx.now)
      return { kind: 'accepted', accepted: { id: seen.id, cluster, state: 'queued' }, replayed: true }
    }
    const nameFrom = ctx.longestMemberName === undefined ? 'default' : 'members'
    const sourceName = ctx.longestMemberName ?? DEFAULT_SOURCE_NAME_BYTES
    const excess = checkQuerySize(input.query, settings.querySizeLimit, sourceName)
    if (excess) return { kind: 'too-large', excess, nameFrom }
    this.settle(ctx)
    const queued = this.#sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM queries WHERE state = 'queued'`).one().n
    if (queued >= MAX_QUEUED_QUERIES) return { kind: 'full', queued }
    const id = `qry_${crypto.randomUUID().replaceAll('-', '')}`
    const { query } = input
    this.#sql.exec(
      `INSERT INTO queries (id, sender, request_id, body_hash, name, payload, nodes, tags, timeout_ms,
         request_ack, relay_factor, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      input.sender,
      input.requestId,
      input.bodyHash,
      query.name,
      query.payload,
      JSON.stringify(query.nodes),
      JSON.stringify(query.tags),
      query.timeoutMs,
      query.requestAck ? 1 : 0,
      query.relayFactor,
      ctx.now,
    )
    this.#audit.record({ ...attempt, decision: 'queued', eventId: id }, ctx.now)
    return { kind: 'accepted', accepted: { id, cluster, state: 'queued' }, replayed: false }
  }

  /** Hand every queued query to the bridge holding lease `leaseToken`: they are running from now. */
  handOut(bridgeId: string, leaseToken: number, ctx: LaneContext): QueryTask[] {
    this.settle(ctx)
    const rows = this.#sql
      .exec<QueryRow>(
        `UPDATE queries SET state = 'running', started_at = ?, bridge_id = ?, lease_token = ?
         WHERE state = 'queued' RETURNING *`,
        ctx.now,
        bridgeId,
        leaseToken,
      )
      .toArray()
      .sort((a, b) => a.seq - b.seq)
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      payloadBase64: toBase64(new Uint8Array(row.payload)),
      nodes: JSON.parse(row.nodes) as string[],
      tags: JSON.parse(row.tags) as Record<string, string>,
      timeoutMs: row.timeout_ms,
      requestAck: row.request_ack === 1,
      relayFactor: row.relay_factor,
      createdAt: new Date(row.created_at).toISOString(),
    }))
  }

  /**
   * Store what the bridge relayed from Serf's stream, each record once by its index; a `done`
   * record ends the query, an `error` (Serf refused to start it) fails it. Records for a query no longer running are not stored: its state
   * answers, so the bridge stops relaying.
   */
  append(id: string, records: QueryRecord[], responseLimit: number, ctx: LaneContext): RecordsResult {
    this.settle(ctx)
    const row = this.#sql.exec<Pick<QueryRow, 'state'>>('SELECT state FROM queries WHERE id = ?', id).toArray()[0]
    if (!row) return { kind: 'unknown' }
    if (row.state === 'queued') return { kind: 'invalid', detail: `query ${id} was not handed to a bridge yet` }
    if (row.state !== 'running') return { kind: 'state', state: row.state }
    const payloads: (Uint8Array | null)[] = []
    for (const record of records) {
      const read = readRecord(record, responseLimit)
      if ('problem' in read) return { kind: 'invalid', detail: `record ${record.index}: ${read.problem}` }
      payloads.push(read.payload)
    }
    // Once per index (a retried batch), and as Serf counts answers, once per node and kind.
    records.forEach((record, i) => {
      this.#sql.exec(
        `INSERT OR IGNORE INTO query_records (query_id, idx, type, node, payload, at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (
           SELECT 1 FROM query_records WHERE query_id = ?1 AND type = ?3 AND node IS ?4 AND ?4 IS NOT NULL)`,
        id,
        record.index,
        record.type,
        record.from ?? null,
        payloads[i],
        record.at,
      )
    })
    const refused = records.findIndex((record) => record.type === 'error')
    if (refused >= 0) {
      const text = new TextDecoder().decode(payloads[refused] ?? new Uint8Array())
      this.#finish(id, 'failed', `Serf refused the query: ${text || 'no error text'}`, ctx)
      return { kind: 'state', state: 'failed' }
    }
    if (records.some((record) => record.type === 'done')) {
      this.#finish(id, 'done', null, ctx)
      return { kind: 'state', state: 'done' }
    }
    return { kind: 'state', state: 'running' }
  }

  /** A query's status with every answer stored so far, for the sender that asked it only. */
  status(cluster: string, id: string, sender: string, ctx: LaneContext): QueryStatus | null {
    this.settle(ctx)
    const row = this.#sql.exec<QueryRow>('SELECT * FROM queries WHERE id = ? AND sender = ?', id, sender).toArray()[0]
    if (!row) return null
    const records = this.#sql
      .exec<QueryRecordRow>('SELECT * FROM query_records WHERE query_id = ? ORDER BY idx', id)
      .toArray()
    return queryStatusOf(cluster, row, records)
  }

  /** Expire queries no bridge started in time; fail running ones whose bridge is gone. */
  settle(ctx: LaneContext): void {
    const rows = this.#sql.exec<QueryRow>(`SELECT * FROM queries WHERE state IN ('queued', 'running')`).toArray()
    for (const row of rows) {
      const timeoutMs = row.timeout_ms > 0 ? row.timeout_ms : ctx.defaultTimeoutMs
      const outcome = row.state === 'queued' ? expiry(row, timeoutMs, ctx) : failure(row, timeoutMs, ctx)
      if (outcome) this.#finish(row.id, outcome.state, outcome.error, ctx)
    }
  }

  /**
   * When the next queued or running query can end without its bridge's word (expired, or failed
   * after the deadline plus the grace), or null: the alarm settles it then, so a chat follow-up
   * is not left waiting for the next routine alarm.
   */
  nextDeadline(ctx: LaneContext): number | null {
    const rows = this.#sql
      .exec<Pick<QueryRow, 'state' | 'created_at' | 'started_at' | 'timeout_ms'>>(
        `SELECT state, created_at, started_at, timeout_ms FROM queries WHERE state IN ('queued', 'running')`,
      )
      .toArray()
    if (rows.length === 0) return null
    return Math.min(
      ...rows.map((row) => {
        const timeoutMs = row.timeout_ms > 0 ? row.timeout_ms : ctx.defaultTimeoutMs
        // One past the deadline: expiry() and failure() settle only once it has passed.
        if (row.state === 'queued') return row.created_at + timeoutMs + 1
        return (row.started_at ?? ctx.now) + timeoutMs + QUERY_GRACE_MS + 1
      }),
    )
  }

  /** Forget finished queries and their records older than `before` (ms since the epoch). */
  prune(before: number): void {
    const old = `SELECT id FROM queries WHERE state NOT IN ('queued', 'running') AND finished_at < ?`
    this.#sql.exec(`DELETE FROM query_records WHERE query_id IN (${old})`, before)
    this.#sql.exec(`DELETE FROM queries WHERE id IN (${old})`, before)
  }

  /** Whether a query waits for a bridge's query poll. */
  get anyQueued(): boolean {
    return this.#sql.exec(`SELECT 1 FROM queries WHERE state = 'queued' LIMIT 1`).toArray().length > 0
  }

  /** Whether anything is left to settle or prune later. */
  get empty(): boolean {
    return this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM (SELECT 1 FROM queries LIMIT 1)').one().n === 0
  }

  #finish(id: string, state: 'done' | 'expired' | 'failed', error: string | null, ctx: LaneContext): void {
    this.#sql.exec('UPDATE queries SET state = ?, finished_at = ?, error = ? WHERE id = ?', state, ctx.now, error, id)
  }
}

type Outcome = { state: 'expired' | 'failed'; error: string } | undefined

function expiry(row: QueryRow, timeoutMs: number, ctx: LaneContext): Outcome {
  if (row.created_at + timeoutMs >= ctx.now) return undefined
  const what = row.timeout_ms > 0 ? 'its timeout' : "Serf's default timeout (bounded by the edge)"
  return { state: 'expired', error: `no bridge started the query within ${what} of ${formatDuration(timeoutMs)}` }
}

function failure(row: QueryRow, timeoutMs: number, ctx: LaneContext): Outcome {
  if (row.lease_token !== ctx.leaseToken) {
    return {
      state: 'failed',
      error: `bridge "${row.bridge_id}" lost the cluster's lease while the query ran; its answers can no longer be relayed`,
    }
  }
  if ((row.started_at ?? 0) + timeoutMs + QUERY_GRACE_MS >= ctx.now) return undefined
  return {
    state: 'failed',
    error:
      `the bridge did not report the end of the query within its timeout of ${formatDuration(timeoutMs)} ` +
      `plus ${formatDuration(QUERY_GRACE_MS)}; it may have died`,
  }
}

/** A record's payload bytes, or why the edge cannot store it. */
function readRecord(record: QueryRecord, responseLimit: number): { payload: Uint8Array | null } | { problem: string } {
  if ((record.type === 'ack' || record.type === 'response') && !record.from) {
    return { problem: `${record.type} records must name their node in "from"` }
  }
  if (record.payloadBase64 === undefined) return { payload: null }
  let payload: Uint8Array
  try {
    payload = fromBase64(record.payloadBase64)
  } catch (error) {
    if (!(error instanceof Base64Error)) throw error
    return { problem: 'payloadBase64 is not valid base64 (standard alphabet, padded)' }
  }
  // Serf refuses to send a response over its limit, so a larger one means the limits disagree.
  if (record.type === 'response' && payload.length > responseLimit) {
    return {
      problem:
        `a response of ${payload.length} bytes from "${record.from}" is over the cluster's ` +
        `queryResponseSizeLimit of ${responseLimit}; set it to the agents' query_response_size_limit`,
    }
  }
  return { payload }
}
