/**
 * The JSON shapes that cross the wire between sender, edge and bridge. README's API section
 * documents these field by field.
 */

/** Where an event is in its life. */
export type EventState = 'queued' | 'delivered' | 'expired' | 'rejected'

/** `202` answer to an accepted event. */
export interface EventAccepted {
  id: string
  cluster: string
  sequence: number
  status: 'queued'
}

/** Answer of the status look-up. */
export interface EventStatus {
  id: string
  cluster: string
  sequence: number
  name: string
  coalesce: boolean
  status: EventState
  enqueuedAt: string
  /** When the bridge acknowledged it (delivered or rejected) or when it expired. */
  settledAt?: string
  /** Serf's own error text, for `rejected`. */
  error?: string
}

/** One event handed to a bridge. */
export interface QueuedEvent {
  sequence: number
  id: string
  name: string
  payloadBase64: string
  coalesce: boolean
  enqueuedAt: string
}

/** Body of `POST /v1/clusters/{cluster}/bridge/poll`. */
export interface PollRequest {
  cluster: string
  /** A name for this bridge process, shown to the standby and in logs. */
  bridgeId: string
  /** Hand out events with a sequence above this. */
  after: number
  /** At most this many events (1..1000). */
  limit: number
  /** Hold the poll open at most this long when nothing is queued (0..25000 ms). */
  waitMs?: number
}

/** The lease a poll grants or renews; `token` is the fencing token acks must carry. */
export interface Lease {
  token: number
  bridgeId: string
  expiresAt: string
  ttlMs: number
}

/** `200` answer of a poll by the lease holder. */
export interface PollResponse {
  lease: Lease
  events: QueuedEvent[]
  /** Highest sequence settled (delivered, rejected or expired) without a gap below it. */
  settledThrough: number
  /** Events still queued in the cluster, handed out or not: the bridge's lag. */
  backlog: number
}

/** Body of `POST /v1/clusters/{cluster}/bridge/ack`. */
export interface AckRequest {
  cluster: string
  bridgeId: string
  leaseToken: number
  /** Every queued event up to this sequence is settled by this ack. */
  through: number
  /** The ones Serf refused, with Serf's text; all others up to `through` were delivered. */
  rejected?: { sequence: number; error: string }[]
}

/** `200` answer of an ack. */
export interface AckResponse {
  delivered: number
  rejected: number
  settledThrough: number
}

/** Body of `POST /v1/clusters/{cluster}/bridge/release`. */
export interface ReleaseRequest {
  cluster: string
  bridgeId: string
  leaseToken: number
}

/** Header naming the sender whose keys verify a sender request. */
export const SENDER_HEADER = 'serf-edge-sender'

/**
 * The Worker secret holding a sender's or a cluster's bridge verify keys: the prefix, then the
 * id upper-cased with every other character as `_`.
 * @example secretName('SENDER_KEYS', 'chat-ops') // 'SENDER_KEYS_CHAT_OPS'
 */
export const secretName = (kind: 'SENDER_KEYS' | 'BRIDGE_KEYS', id: string): string =>
  `${kind}_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`
