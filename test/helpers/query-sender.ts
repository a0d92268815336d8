/**
 * A sender of queries for the tests: asks a query and reads its status and the members at the
 * edge, each request signed by hand with the sender's key (protocol/edge-request.ts).
 */
import { type EdgeSigner, sendOnce } from '../../protocol/edge-request.ts'
import {
  type MembersSnapshot,
  membersSnapshotSchema,
  type QueryRequest,
  type QueryStatus,
  queryAcceptedSchema,
  queryStatusSchema,
} from '../../protocol/query.ts'
import { importSignKey } from '../../protocol/signature.ts'
import type { LocalEdge } from './edge.ts'
import { waitFor } from './serf-agent.ts'

/** The `SENDERS` entry of a sender that may ask any query on any cluster. */
export const QUERY_SENDER = { clusters: '*' as const, queries: ['*'] }

export interface QuerySender {
  /** Ask a query; resolves with its id once the edge queued it. */
  ask(query: Omit<QueryRequest, 'cluster'>): Promise<string>
  status(id: string): Promise<QueryStatus>
  /** The status once the query is no longer queued or running. */
  settled(id: string, timeoutMs?: number): Promise<QueryStatus>
  /** The last members report, with its age. */
  members(): Promise<MembersSnapshot>
}

/** A sender of `cluster` at `edge`, signing with `sender`'s key. */
export async function querySender(edge: LocalEdge, cluster: string, sender = 'ci'): Promise<QuerySender> {
  const signer: EdgeSigner = { sender, keys: [await importSignKey(edge.senderKeys[sender]!)], fetch }
  const url = (path: string) => new URL(`/v1/clusters/${cluster}/${path}`, edge.url)
  const attempt = { timeoutMs: 15_000 }
  const status = (id: string) =>
    sendOnce(signer, { method: 'GET', url: url(`queries/${id}`) }, queryStatusSchema, attempt)
  return {
    async ask(query) {
      const body = JSON.stringify({ cluster, ...query })
      const accepted = await sendOnce(
        signer,
        { method: 'POST', url: url('queries'), body },
        queryAcceptedSchema,
        attempt,
      )
      return accepted.id
    },
    status,
    settled: (id, timeoutMs = 60_000) =>
      waitFor(
        async () => {
          const answer = await status(id)
          return answer.state !== 'queued' && answer.state !== 'running' && answer
        },
        { timeoutMs, intervalMs: 200, what: `query ${id} to settle` },
      ),
    members: () => sendOnce(signer, { method: 'GET', url: url('members') }, membersSnapshotSchema, attempt),
  }
}

/** Node name → response text of a query's status. */
export function responsesByNode(status: QueryStatus): Record<string, string> {
  return Object.fromEntries(status.responses.map((r) => [r.node, r.payload ?? atob(r.payloadBase64 ?? '')]))
}
