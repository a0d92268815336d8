/**
 * The bridge's side of the query lane for the worker tests: take the events lease, poll for
 * queries, relay Serf's records and report members, through the signed bridge endpoints as
 * agent-bridge calls them.
 */
import type { Member, QueryPollResponse, QueryRecord } from '../../protocol/query.ts'
import type { PollResponse } from '../../protocol/wire.ts'
import { bridge } from './helpers.ts'

/** The events lease of `cluster` for `bridgeId`, taken by an events poll that waits for nothing. */
export async function leaseOf(cluster: string, bridgeId: string): Promise<number> {
  const res = await bridge(cluster, 'poll', { bridgeId, after: 0, limit: 1, waitMs: 0 })
  if (res.status !== 200) throw new Error(`events poll answered ${res.status}: ${await res.text()}`)
  return ((await res.json()) as PollResponse).lease.token
}

/** Every queued query of `cluster`, handed to `bridgeId`: running from now. */
export async function pollQueries(cluster: string, bridgeId: string, leaseToken: number) {
  const res = await bridge(cluster, 'queries/poll', { bridgeId, leaseToken, waitMs: 0 })
  if (res.status !== 200) throw new Error(`query poll answered ${res.status}: ${await res.text()}`)
  return ((await res.json()) as QueryPollResponse).queries
}

/** Relay `records` of query `id`; resolves with the query's state as the edge answers it. */
export async function relay(cluster: string, id: string, bridgeId: string, leaseToken: number, records: unknown[]) {
  const res = await bridge(cluster, `queries/${id}/records`, { bridgeId, leaseToken, records })
  if (res.status !== 200) throw new Error(`records answered ${res.status}: ${await res.text()}`)
  return ((await res.json()) as { state: string }).state
}

/** Replace `cluster`'s members snapshot with `members`. */
export async function reportMembers(cluster: string, bridgeId: string, leaseToken: number, members: Member[]) {
  const res = await bridge(cluster, 'members', { bridgeId, leaseToken, members })
  if (res.status !== 200) throw new Error(`members report answered ${res.status}: ${await res.text()}`)
}

/** One record of Serf's query stream, its payload as text. */
export const record = (index: number, type: QueryRecord['type'], from?: string, payload?: string) => ({
  index,
  type,
  ...(from ? { from } : {}),
  ...(payload !== undefined ? { payloadBase64: btoa(String.fromCharCode(...new TextEncoder().encode(payload))) } : {}),
  at: new Date().toISOString(),
})

/** A member as the bridge reports it. */
export const member = (name: string, status = 'alive', tags: Record<string, string> = {}): Member => ({
  name,
  addr: '127.0.0.1',
  port: 7946,
  status,
  tags,
})
