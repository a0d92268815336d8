/**
 * The audit trail's wire shapes: one record per attempt to fire an event, through any door,
 * refusals included, with the event's final status once it has one.
 */
import { z } from 'zod'

/** What the edge decided about an attempt. */
export const auditDecisionSchema = z.enum([
  'queued',
  'replayed',
  'refused',
  /** Waiting for the requester's confirmation or a second person's approval. */
  'pending',
  'approved',
  'cancelled',
  /** The chat channel was told how the event ended, could not be, or no longer takes replies. */
  'followup-sent',
  'followup-failed',
  'followup-lapsed',
])
export type AuditDecision = z.infer<typeof auditDecisionSchema>

/** One attempt as `GET /v1/clusters/{cluster}/audit` answers it. */
export const auditRecordSchema = z.object({
  /** Position in the cluster's audit trail; `after` of the next page. */
  seq: z.number().int(),
  at: z.string(),
  door: z.string(),
  principal: z.string(),
  channel: z.string().optional(),
  cluster: z.string(),
  name: z.string().optional(),
  /** Hex SHA-256 of the payload bytes: what was fired, without keeping the payload. */
  payloadSha256: z.string().optional(),
  decision: auditDecisionSchema,
  /** For a refusal: the problem slug and its detail, e.g. `forbidden: sender "ci" may not ...`. */
  reason: z.string().optional(),
  eventId: z.string().optional(),
  /** The event's status now (queued, delivered, expired, rejected), when one was queued. */
  status: z.enum(['queued', 'delivered', 'expired', 'rejected']).optional(),
  /** Serf's text for a rejected event. */
  error: z.string().optional(),
})
export type AuditRecord = z.infer<typeof auditRecordSchema>

/** A page of the trail, oldest first. */
export const auditPageSchema = z.object({
  cluster: z.string(),
  records: z.array(auditRecordSchema),
  /** Pass as `after` to read on; absent when this page reached the end. */
  next: z.number().int().optional(),
})
export type AuditPage = z.infer<typeof auditPageSchema>

/** Most records one read returns. */
export const MAX_AUDIT_PAGE = 500
