/** A stored query and its records as its asker reads them: acks, responses and totals so far. */
import { toBase64 } from '../../protocol/bytes.ts'
import type { QueryStatus } from '../../protocol/query.ts'
import type { QueryRecordRow, QueryRow } from './schema.ts'

// Text when the bytes are UTF-8 (a byte-order mark kept, so text and bytes never differ).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The status answer of `row` with its `records` in index order. */
export function queryStatusOf(cluster: string, row: QueryRow, records: QueryRecordRow[]): QueryStatus {
  const time = (ms: number) => new Date(ms).toISOString()
  return {
    id: row.id,
    cluster,
    name: row.name,
    state: row.state,
    createdAt: time(row.created_at),
    ...(row.started_at !== null ? { startedAt: time(row.started_at) } : {}),
    ...(row.finished_at !== null ? { finishedAt: time(row.finished_at) } : {}),
    ...(row.timeout_ms > 0 ? { timeoutMs: row.timeout_ms } : {}),
    requestAck: row.request_ack === 1,
    ...answersOf(records),
    ...(row.error !== null ? { error: row.error } : {}),
  }
}

/** The acks and responses among `records` (in index order), and their totals. */
export function answersOf(records: QueryRecordRow[]): Pick<QueryStatus, 'acks' | 'responses' | 'totals'> {
  const acks = records.filter((r) => r.type === 'ack').map((r) => ({ node: r.node ?? '', at: r.at }))
  const responses = records
    .filter((r) => r.type === 'response')
    .map((r) => ({ node: r.node ?? '', at: r.at, ...payloadOf(new Uint8Array(r.payload ?? new ArrayBuffer(0))) }))
  return { acks, responses, totals: { acks: acks.length, responses: responses.length } }
}

function payloadOf(bytes: Uint8Array): { payload: string } | { payloadBase64: string } {
  try {
    return { payload: strictUtf8.decode(bytes) }
  } catch {
    return { payloadBase64: toBase64(bytes) }
  }
}
