/**
 * Serf queries and members across the wire: what a sender asks, what the edge hands the bridge,
 * what the bridge relays back as Serf streams it, and the members snapshot. One zod schema per
 * shape, types inferred; request bodies strict, answers tolerant of added fields.
 */
import { z } from 'zod'
import { Base64Error, fromBase64, utf8 } from './bytes.ts'
import { SERF_INTERNAL_PREFIX, tagPatternProblem } from './query-rules.ts'

/** Longest query timeout the edge accepts; Serf's own default is a few seconds. */
export const MAX_QUERY_TIMEOUT_MS = 5 * 60_000
/** Shortest query timeout the edge accepts. */
export const MIN_QUERY_TIMEOUT_MS = 100
/** Serf's default `query_size_limit` and `query_response_size_limit`, in bytes. */
export const DEFAULT_QUERY_SIZE_LIMIT = 1024

/** Where a query is in its life. */
export const queryStateSchema = z.enum(['queued', 'running', 'done', 'expired', 'failed'])
export type QueryState = z.infer<typeof queryStateSchema>

// Control characters would reach handler scripts through SERF_QUERY_NAME; refuse them, as for events.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/**
 * Body of `POST /v1/clusters/{cluster}/queries`, as a sender writes it. Besides the shape it
 * holds Serf's refusals that need no cluster: `_serf_` names, tag filters RE2 cannot run
 * (protocol/query-rules.ts); the size rule needs the cluster's limit.
 */
export const queryRequestSchema = z
  .strictObject({
    cluster: z.string(),
    name: z
      .string()
      .min(1)
      .max(128)
      .refine((name) => !CONTROL.test(name), { error: 'name must not contain control characters' })
      .refine((name) => utf8(name).length <= 128, { error: 'name must be at most 128 bytes of UTF-8' })
      .refine((name) => !name.startsWith(SERF_INTERNAL_PREFIX), {
        error: `names starting with "${SERF_INTERNAL_PREFIX}" are Serf's internal queries; its agent refuses them`,
      }),
    payload: z.string().optional(),
    payloadBase64: z
      .string()
      .refine(isBase64, { error: 'payloadBase64 is not valid base64 (standard alphabet, padded)' })
      .optional(),
    /** Only these nodes answer (Serf's `-node`, repeatable). */
    nodes: z.array(z.string().min(1)).max(64).optional(),
    /** Only nodes whose tag matches the regular expression answer (Serf's `-tag key=regex`). */
    tags: z
      .record(z.string().min(1), z.string())
      .superRefine((tags, ctx) => {
        for (const [tag, expr] of Object.entries(tags)) {
          const problem = tagPatternProblem(expr)
          if (problem) ctx.addIssue({ code: 'custom', path: [tag], message: `"${expr}" ${problem}` })
        }
      })
      .optional(),
    /** How long nodes may answer (Serf's `-timeout`); default: Serf's own. */
    timeoutMs: z.number().int().min(MIN_QUERY_TIMEOUT_MS).max(MAX_QUERY_TIMEOUT_MS).optional(),
    /** Ask nodes to ack receipt (Serf's default; `-no-ack` turns it off). */
    requestAck: z.boolean().optional(),
    /** Extra copies of each answer relayed through other nodes (Serf's `-relay-factor`). */
    relayFactor: z.number().int().min(0).max(5).optional(),
  })
  .refine((body) => body.payload === undefined || body.payloadBase64 === undefined, {
    error: 'give payload (text) or payloadBase64 (binary), not both',
  })
export type QueryRequest = z.infer<typeof queryRequestSchema>

function isBase64(text: string): boolean {
  try {
    fromBase64(text)
    return true
  } catch (error) {
    if (error instanceof Base64Error) return false
    throw error
  }
}

/** `202` answer to an accepted query. */
export const queryAcceptedSchema = z.object({
  id: z.string(),
  cluster: z.string(),
  state: z.literal('queued'),
})
export type QueryAccepted = z.infer<typeof queryAcceptedSchema>

/** One node's answer; the payload as text when it is UTF-8, else base64. */
export const queryResponseSchema = z.object({
  node: z.string(),
  at: z.string(),
  payload: z.string().optional(),
  payloadBase64: z.string().optional(),
})

/** `GET /v1/clusters/{cluster}/queries/{id}`: answers arrive while the query runs. */
export const queryStatusSchema = z.object({
  id: z.string(),
  cluster: z.string(),
  name: z.string(),
  state: queryStateSchema,
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  timeoutMs: z.number().optional(),
  requestAck: z.boolean(),
  acks: z.array(z.object({ node: z.string(), at: z.string() })),
  responses: z.array(queryResponseSchema),
  totals: z.object({ acks: z.number(), responses: z.number() }),
  /** Why a query failed or expired. */
  error: z.string().optional(),
})
export type QueryStatus = z.infer<typeof queryStatusSchema>

/** A query handed to the bridge. */
export const queryTaskSchema = z.object({
  id: z.string(),
  name: z.string(),
  payloadBase64: z.string(),
  nodes: z.array(z.string()),
  tags: z.record(z.string(), z.string()),
  /** 0: Serf's default. */
  timeoutMs: z.number(),
  requestAck: z.boolean(),
  relayFactor: z.number(),
  createdAt: z.string(),
})
export type QueryTask = z.infer<typeof queryTaskSchema>

/** One record of Serf's query stream, as the bridge relays it; `index` orders and dedupes. */
export const queryRecordSchema = z.strictObject({
  index: z.number().int().min(0),
  /**
   * `error`: Serf refused to start the query (its RPC answered with an error); `payloadBase64`
   * holds Serf's text as UTF-8. It ends the query as `failed` with that text.
   */
  type: z.enum(['ack', 'response', 'done', 'error']),
  from: z.string().max(512).optional(),
  payloadBase64: z.string().max(16_384).optional(),
  at: z.string(),
})
export type QueryRecord = z.infer<typeof queryRecordSchema>

/** A member as Serf's `members` reports it. */
export const memberSchema = z.object({
  name: z.string(),
  /** The IP address alone, as text (`10.0.0.7`, `fd00::7`); the port is its own field. */
  addr: z.string(),
  port: z.number(),
  status: z.string(),
  tags: z.record(z.string(), z.string()),
})
export type Member = z.infer<typeof memberSchema>

/** `GET /v1/clusters/{cluster}/members`: the last snapshot a bridge reported, and its age. */
export const membersSnapshotSchema = z.object({
  cluster: z.string(),
  members: z.array(memberSchema),
  asOf: z.string(),
  ageMs: z.number(),
  bridgeId: z.string(),
})
export type MembersSnapshot = z.infer<typeof membersSnapshotSchema>

const bridgeFields = {
  cluster: z.string(),
  bridgeId: z.string().min(1).max(128),
  /** The events lease's fencing token: only the active bridge runs queries and reports members. */
  leaseToken: z.number().int().min(1),
}

/** Body of `POST /v1/clusters/{cluster}/bridge/queries/poll`: long-poll for queries to run. */
export const queryPollRequestSchema = z.strictObject({
  ...bridgeFields,
  waitMs: z.number().int().min(0).max(25_000).default(25_000),
})
export type QueryPollRequest = z.input<typeof queryPollRequestSchema>

/** Its answer: queries now running under this bridge, oldest first. */
export const queryPollResponseSchema = z.object({ queries: z.array(queryTaskSchema) })
export type QueryPollResponse = z.infer<typeof queryPollResponseSchema>

/** Body of `POST /v1/clusters/{cluster}/bridge/queries/{id}/records`: what Serf streamed so far. */
export const queryRecordsRequestSchema = z.strictObject({
  ...bridgeFields,
  records: z.array(queryRecordSchema).min(1).max(1000),
})
export type QueryRecordsRequest = z.input<typeof queryRecordsRequestSchema>

/** Its answer: the query's state after the records. */
export const queryRecordsResponseSchema = z.object({ state: queryStateSchema })

/** Body of `POST /v1/clusters/{cluster}/bridge/members`: the agent's view of the cluster. */
export const membersReportSchema = z.strictObject({
  ...bridgeFields,
  members: z.array(memberSchema.strict()).max(10_000),
})
export type MembersReport = z.input<typeof membersReportSchema>
