/**
 * The JSON shapes that cross the wire between sender, edge and bridge, each one zod schema with
 * its type inferred. Request bodies are strict, as the edge validates them; answers tolerate
 * fields a newer edge adds, as clients parse them. README's API section documents each field.
 */
import { z } from 'zod'

/** Longest a poll is held open; below the ~30 s that proxies tolerate for an idle request. */
export const MAX_POLL_WAIT_MS = 25_000

/** Where an event is in its life. */
export const eventStateSchema = z.enum(['queued', 'delivered', 'expired', 'rejected'])
export type EventState = z.infer<typeof eventStateSchema>

/** `202` answer to an accepted event. */
export const eventAcceptedSchema = z.object({
  id: z.string(),
  cluster: z.string(),
  sequence: z.number(),
  status: z.literal('queued'),
})
export type EventAccepted = z.infer<typeof eventAcceptedSchema>

/** Answer of the status look-up. */
export const eventStatusSchema = z.object({
  id: z.string(),
  cluster: z.string(),
  sequence: z.number(),
  name: z.string(),
  coalesce: z.boolean(),
  status: eventStateSchema,
  enqueuedAt: z.string(),
  /** When the bridge acknowledged it (delivered or rejected) or when it expired. */
  settledAt: z.string().optional(),
  /** Serf's own error text, for `rejected`. */
  error: z.string().optional(),
})
export type EventStatus = z.infer<typeof eventStatusSchema>

/** One event handed to a bridge. */
export const queuedEventSchema = z.object({
  sequence: z.number(),
  id: z.string(),
  name: z.string(),
  payloadBase64: z.string(),
  coalesce: z.boolean(),
  enqueuedAt: z.string(),
})
export type QueuedEvent = z.infer<typeof queuedEventSchema>

/** The lease a poll grants or renews; `token` is the fencing token acks must carry. */
export const leaseSchema = z.object({
  token: z.number(),
  bridgeId: z.string(),
  expiresAt: z.string(),
  ttlMs: z.number(),
})
export type Lease = z.infer<typeof leaseSchema>

const bridgeId = z.string().min(1).max(128)
const sequence = z.number().int().min(0)
const leaseToken = z.number().int().min(1)

/** Body of `POST /v1/clusters/{cluster}/bridge/poll`. */
export const pollRequestSchema = z.strictObject({
  cluster: z.string(),
  /** A name for this bridge process, shown to the standby and in logs. */
  bridgeId,
  /** Hand out events with a sequence above this. */
  after: sequence,
  /** At most this many events. */
  limit: z.number().int().min(1).max(1000),
  /** Hold the poll open at most this long when nothing is queued. */
  waitMs: z.number().int().min(0).max(MAX_POLL_WAIT_MS).default(MAX_POLL_WAIT_MS),
})
/** The poll body as a bridge writes it (`waitMs` may be left out). */
export type PollRequest = z.input<typeof pollRequestSchema>

/** `200` answer of a poll by the lease holder. */
export const pollResponseSchema = z.object({
  lease: leaseSchema,
  events: z.array(queuedEventSchema),
  /** Highest sequence settled (delivered, rejected or expired) without a gap below it. */
  settledThrough: z.number(),
  /** Events still queued in the cluster, handed out or not: the bridge's lag. */
  backlog: z.number(),
})
export type PollResponse = z.infer<typeof pollResponseSchema>

/** Body of `POST /v1/clusters/{cluster}/bridge/ack`. */
export const ackRequestSchema = z.strictObject({
  cluster: z.string(),
  bridgeId,
  leaseToken,
  /** Every queued event up to this sequence is settled by this ack. */
  through: sequence,
  /** The ones Serf refused, with Serf's text; all others up to `through` were delivered. */
  rejected: z
    .array(z.strictObject({ sequence: sequence.min(1), error: z.string().max(2048) }))
    .max(1000)
    .default([]),
})
/** The ack body as a bridge writes it (`rejected` may be left out). */
export type AckRequest = z.input<typeof ackRequestSchema>

/** `200` answer of an ack. */
export const ackResponseSchema = z.object({
  delivered: z.number(),
  rejected: z.number(),
  settledThrough: z.number(),
})
export type AckResponse = z.infer<typeof ackResponseSchema>

/** Body of `POST /v1/clusters/{cluster}/bridge/release`. */
export const releaseRequestSchema = z.strictObject({ cluster: z.string(), bridgeId, leaseToken })
export type ReleaseRequest = z.input<typeof releaseRequestSchema>

/** `200` answer of a release: whether this bridge held the lease it gave up. */
export const releaseResponseSchema = z.object({ released: z.boolean() })
export type ReleaseResponse = z.infer<typeof releaseResponseSchema>

/** Header naming the sender whose keys verify a sender request. */
export const SENDER_HEADER = 'serf-edge-sender'

/**
 * The kinds of Worker secret: a sender's or a cluster's bridge verify keys, a Slack app's signing
 * secret, a Discord app's public key, a GitHub hook's webhook secret.
 */
export type SecretKind =
  | 'SENDER_KEYS'
  | 'BRIDGE_KEYS'
  | 'SLACK_SIGNING_SECRET'
  | 'DISCORD_PUBLIC_KEY'
  | 'GITHUB_WEBHOOK_SECRET'

/**
 * The Worker secret of one sender, cluster, app or hook: the kind, then the id upper-cased with
 * every other character as `_`.
 * @example secretName('SENDER_KEYS', 'chat-ops') // 'SENDER_KEYS_CHAT_OPS'
 */
export const secretName = (kind: SecretKind, id: string): string =>
  `${kind}_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`
