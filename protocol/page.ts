/**
 * The on-call page's contract with the edge: the shapes `/app/api/*` answers with, and how an
 * action's WebAuthn challenge binds the exact request. Shared by the Worker (src/doors/page/)
 * and the page's own script (page/src/), which recomputes the challenge from what it shows
 * before it asks the passkey to sign: a page that displayed one thing and signed another
 * would be caught by either side.
 */
import { z } from 'zod'
import { toBase64Url, utf8 } from './bytes.ts'
import { eventStateSchema } from './wire.ts'

/** How long an action's nonce, and so its challenge, stays valid. */
export const ACTION_NONCE_TTL_MS = 120_000
/** How long an invite link stays valid. */
export const INVITE_TTL_MS = 15 * 60_000
/** The session cookie; HttpOnly, SameSite=Strict, Secure (localhost counts as secure). */
export const SESSION_COOKIE = '__Host-serf-edge-session'

/** An event as the page shows it and the passkey signs it: payload is text, sent as UTF-8. */
export const pageEventSchema = z.strictObject({
  cluster: z.string().min(1).max(64),
  name: z.string().min(1).max(256),
  payload: z.string().max(9216),
  coalesce: z.boolean(),
})
export type PageEvent = z.infer<typeof pageEventSchema>

/**
 * The canonical bytes of an event request: a JSON array with a version tag, so that no two
 * different requests share an encoding (a name cannot run into a payload).
 */
export const canonicalEvent = (event: PageEvent): Uint8Array =>
  utf8(JSON.stringify(['serf-edge/page/v1', event.cluster, event.name, event.payload, event.coalesce]))

/**
 * The challenge a passkey signs for one action: base64url of SHA-256(canonical event, 0x00,
 * nonce). The edge recomputes it from the request it receives and the single-use nonce it
 * issued, so a tampered request, a replayed assertion or a spent nonce fires nothing.
 */
export async function actionChallenge(event: PageEvent, nonce: string): Promise<string> {
  const head = canonicalEvent(event)
  const tail = utf8(nonce)
  const bytes = new Uint8Array(head.length + 1 + tail.length)
  bytes.set(head, 0)
  bytes.set(tail, head.length + 1)
  return toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)))
}

/** How careful a quick action's confirmation is. `approval`: a second operator signs too. */
export const confirmSchema = z.enum(['tap', 'hold', 'approval'])
export type Confirm = z.infer<typeof confirmSchema>

/** A quick action as `GET /app/api/me` lists it. */
export const quickActionSchema = z.object({
  id: z.string(),
  label: z.string(),
  cluster: z.string(),
  name: z.string(),
  /** A fixed payload, or one the operator types, checked against `pattern` (a full match). */
  payload: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('fixed'), value: z.string() }),
    z.object({ kind: z.literal('ask'), pattern: z.string(), label: z.string(), example: z.string().optional() }),
  ]),
  coalesce: z.boolean(),
  confirm: confirmSchema,
  danger: z.boolean(),
  /** For `approval`: the operators who may approve. */
  approvers: z.array(z.string()).optional(),
})
export type QuickAction = z.infer<typeof quickActionSchema>

/** An event another operator asked for and this operator may approve. */
export const approvalRequestSchema = z.object({
  id: z.string(),
  requester: z.string(),
  action: z.string(),
  label: z.string(),
  event: pageEventSchema,
  danger: z.boolean(),
  expiresAt: z.string(),
})
export type ApprovalRequest = z.infer<typeof approvalRequestSchema>

/** `GET /app/api/me`: who is signed in and what they may do. */
export const meSchema = z.object({
  operator: z.string(),
  device: z.object({ id: z.string(), name: z.string() }),
  sessionExpiresAt: z.string(),
  actions: z.array(quickActionSchema),
  /** The custom event form, when the operator's configuration allows it. */
  custom: z.object({ clusters: z.array(z.string()), events: z.array(z.string()) }).nullable(),
  /** Clusters whose recent events the operator may see. */
  clusters: z.array(z.string()),
  approvals: z.array(approvalRequestSchema),
})
export type Me = z.infer<typeof meSchema>

/** One event in a cluster's recent list. */
export const recentEventSchema = z.object({
  id: z.string(),
  sequence: z.number(),
  name: z.string(),
  status: eventStateSchema,
  /** Principal id of who queued it (`page:alice`, `slack:T…:U…`, a sender id). */
  principal: z.string(),
  enqueuedAt: z.string(),
  settledAt: z.string().optional(),
  error: z.string().optional(),
})
export type RecentEvent = z.infer<typeof recentEventSchema>

/** `GET /app/api/clusters/{cluster}/events`: newest first. */
export const recentEventsSchema = z.object({ cluster: z.string(), events: z.array(recentEventSchema) })

/** `POST /app/api/actions/challenge` body: the event, and the quick action or approval it is for. */
export const challengeRequestSchema = z.strictObject({
  event: pageEventSchema,
  /** The quick action's id; absent for the custom event form. */
  action: z.string().optional(),
  /** The id of the approval request this operator approves. */
  approval: z.string().optional(),
})

/** Its answer: the nonce, the challenge, and WebAuthn request options carrying that challenge. */
export const challengeAnswerSchema = z.object({
  nonce: z.string(),
  challenge: z.string(),
  expiresAt: z.string(),
  /** PublicKeyCredentialRequestOptionsJSON for `@simplewebauthn/browser`'s startAuthentication. */
  options: z.record(z.string(), z.unknown()),
})
export type ChallengeAnswer = z.infer<typeof challengeAnswerSchema>

/** `POST /app/api/actions/fire` answer: the queued event, or the approval it now waits for. */
export const fireAnswerSchema = z.union([
  z.object({ event: z.object({ id: z.string(), cluster: z.string(), sequence: z.number(), status: z.string() }) }),
  z.object({ pending: z.object({ id: z.string(), expiresAt: z.string(), approvers: z.array(z.string()) }) }),
])
export type FireAnswer = z.infer<typeof fireAnswerSchema>

/** An enrolled device: one passkey of one operator. */
export const deviceSchema = z.object({
  /** `dev_…`: what `revokeDevice` takes. */
  id: z.string(),
  operator: z.string(),
  /** The name given at enrolment, e.g. "Alice's Pixel". */
  name: z.string(),
  /** The WebAuthn credential id (base64url), as the audit trail names it (`passkey:<id>`). */
  credentialId: z.string(),
  createdAt: z.string(),
  /** When it last signed something; null before its first use. */
  lastUsedAt: z.string().nullable(),
  /** Present once revoked: from then on the edge refuses it. */
  revokedAt: z.string().optional(),
})
export type Device = z.infer<typeof deviceSchema>

/** A one-time enrolment link for an operator's device. */
export const inviteSchema = z.object({
  operator: z.string(),
  /** `<page origin>/app/#invite=<token>`: the token rides in the fragment, never sent in a URL. */
  url: z.string(),
  expiresAt: z.string(),
})
export type Invite = z.infer<typeof inviteSchema>
