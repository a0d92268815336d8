/**
 * Firing from the page: every action is signed by a passkey over a challenge that binds the
 * exact event and a single-use nonce. The edge checks what the action allows before issuing the
 * nonce, consumes the nonce, recomputes the challenge from the request it received, verifies the
 * assertion (signature, user verification, counter) and only then takes the one enqueue path.
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import { z } from 'zod'
import { fromBase64Url, fromUtf8, sha256Hex, utf8 } from '../../../protocol/bytes.ts'
import {
  ACTION_NONCE_TTL_MS,
  actionChallenge,
  canonicalEvent,
  challengeRequestSchema,
  type PageEvent,
  pageEventSchema,
} from '../../../protocol/page.ts'
import type { ClusterSettings } from '../../config.ts'
import { admitEvent, enqueueEvent, type Principal, queueOf, refuseAttempt } from '../../enqueue.ts'
import { type Approval, directoryOf, type NoncePurpose } from '../../operators/directory.ts'
import { ProblemError } from '../../problem.ts'
import { readJson } from '../../routes/body.ts'
import type { OperatorConfig } from './config.ts'
import { log, useRefusal } from './enrol.ts'
import { type PageEnv, pageParty, randomToken, requireSession } from './session.ts'
import { type AuthenticationResponseJSON, authenticationOptions, verifyAssertion } from './webauthn.ts'

/** How long an approval request waits for a second operator. */
export const APPROVAL_TTL_MS = 10 * 60_000

const fireSchema = z.strictObject({
  event: pageEventSchema,
  action: z.string().optional(),
  approval: z.string().optional(),
  nonce: z.string().min(16).max(128),
  response: z.looseObject({ id: z.string().min(1).max(1024), response: z.looseObject({}) }),
})

/** The page's principal for an operator: recorded with the event, scope from the configuration. */
export const operatorPrincipal = (operator: OperatorConfig): Principal => ({
  id: `page:${operator.id}`,
  door: 'page',
  label: `operator "${operator.id}"`,
  scope: operator,
})

/** What a checked request is for: a quick action, the custom form, or approving someone's request. */
type Resolved = {
  cluster: ClusterSettings
  principal: Principal
  purpose: NoncePurpose
  /** SHA-256 (hex) of the canonical event: the nonce's binding and the enqueue path's body hash. */
  eventHash: string
  /** The quick action, when there is one. */
  action?: { id: string; label: string; danger: boolean; approvers?: string[] }
  approval?: Approval
}

export const actionRoutes = new Hono<PageEnv>()
actionRoutes.use('*', requireSession)

actionRoutes.post('/challenge', async (c) => {
  const body = await readJson(c, challengeRequestSchema)
  const resolved = await resolve(c, body)
  const channel = `passkey:${c.get('session').credentialId}`
  if (resolved.approval && !resolved.approval.open) {
    // Refused before the approver is asked for a fingerprint that could not count.
    throw new ProblemError(
      'forbidden',
      `approval request "${resolved.approval.id}" was already approved or has expired`,
    )
  }
  await admit(c, resolved, body.event, channel)
  const nonce = randomToken()
  const expiresAt = Date.now() + ACTION_NONCE_TTL_MS
  await directoryOf(c.env).issueNonce(nonce, resolved.purpose, expiresAt)
  const challenge = await actionChallenge(body.event, nonce)
  const session = c.get('session')
  const device = [{ id: session.credentialId, transports: session.transports }]
  const options = await authenticationOptions(pageParty(c), fromBase64Url(challenge), device)
  return c.json({ nonce, challenge, expiresAt: new Date(expiresAt).toISOString(), options })
})

actionRoutes.post('/fire', async (c) => {
  const body = await readJson(c, fireSchema)
  const resolved = await resolve(c, body)
  const assertion = body.response as unknown as AuthenticationResponseJSON
  const directory = directoryOf(c.env)
  const refuse = (problem: ProblemError, channel = `passkey:${assertion.id}`) =>
    refuseAttempt(
      c.env,
      { principal: resolved.principal, cluster: resolved.cluster, channel, name: body.event.name },
      problem,
    )

  // The nonce first, so that a failed attempt spends it too: each challenge is tried once.
  if (!(await directory.consumeNonce(body.nonce, resolved.purpose))) {
    return refuse(new ProblemError('nonce-invalid', 'this challenge is unknown, spent or older than 120 s: sign again'))
  }
  const stored = await directory.credential(assertion.id)
  const operator = c.get('operator')
  if (!stored || stored.revoked || stored.operator !== operator.id) {
    return refuse(
      new ProblemError('passkey-rejected', `this passkey is not an enrolled device of operator "${operator.id}"`),
    )
  }
  const expected = await actionChallenge(body.event, body.nonce)
  let counter: number
  try {
    counter = await verifyAssertion(pageParty(c), assertion, expected, stored)
  } catch (error) {
    if (error instanceof ProblemError) return refuse(error)
    throw error
  }
  const use = await directory.recordUse(stored.deviceId, counter)
  if (use !== 'ok') return refuse(new ProblemError('passkey-rejected', useRefusal(use)))
  const channel = `passkey:${stored.credentialId}`

  if (resolved.action?.approvers && !resolved.approval) {
    await admit(c, resolved, body.event, channel)
    return c.json({ pending: await openApproval(c, resolved, body.event, channel) }, 202)
  }
  if (resolved.approval) {
    const decision = await directory.approve(resolved.approval.id, operator.id)
    if (decision.kind === 'refused') return refuse(new ProblemError('forbidden', decision.reason), channel)
  }
  const approval = resolved.approval
  const result = await enqueueEvent(c.env, {
    principal: resolved.principal,
    cluster: resolved.cluster,
    event: { name: body.event.name, payload: utf8(body.event.payload), coalesce: body.event.coalesce },
    channel: approval ? `${approval.requesterCredential} approved by page:${operator.id} ${channel}` : channel,
    requestId: `page_${body.nonce}`,
    bodyHash: resolved.eventHash,
  })
  log('page event fired', {
    operator: operator.id,
    credential: stored.credentialId,
    cluster: resolved.cluster.id,
    id: result.accepted.id,
    ...(approval ? { requester: approval.requester } : {}),
  })
  return c.json({ event: result.accepted }, 202)
})

/**
 * What the request is for and whether the operator may sign it: the quick action's exact event
 * (fixed payload, or a typed one matching its pattern), the custom form within scope, or an open
 * approval request this operator may approve, for exactly the event it holds.
 * @throws {ProblemError} unknown-cluster, forbidden, invalid-event, unknown-approval
 */
async function resolve(
  c: Context<PageEnv>,
  body: { event: PageEvent; action?: string; approval?: string },
): Promise<Resolved> {
  const operator = c.get('operator')
  const config = c.get('config')
  const cluster = config.clusters.get(body.event.cluster)
  if (!cluster) throw new ProblemError('unknown-cluster', `unknown cluster "${body.event.cluster}"`)
  const principal = operatorPrincipal(operator)
  // The nonce is issued for this exact event: a nonce obtained for one event signs no other.
  const eventHash = await sha256Hex(canonicalEvent(body.event) as Uint8Array<ArrayBuffer>)
  const refuse = (problem: ProblemError) =>
    refuseAttempt(
      c.env,
      { principal, cluster, name: body.event.name, channel: `passkey:${c.get('session').credentialId}` },
      problem,
    )

  if (body.approval !== undefined) {
    const approval = await directoryOf(c.env).approval(body.approval)
    if (!approval?.approvers.includes(operator.id) || approval.requester === operator.id) {
      throw new ProblemError(
        'unknown-approval',
        `no approval request "${body.approval}" waits for operator "${operator.id}"`,
      )
    }
    if (fromUtf8(canonicalEvent(approval.event)) !== fromUtf8(canonicalEvent(body.event))) {
      return refuse(new ProblemError('invalid-event', 'the event differs from the one waiting for approval'))
    }
    const requester = config.page.operators.get(approval.requester)
    if (!requester) throw new ProblemError('forbidden', `operator "${approval.requester}" is no longer configured`)
    return {
      cluster,
      principal: operatorPrincipal(requester),
      purpose: { kind: 'approve', operator: operator.id, approval: approval.id, event: eventHash },
      eventHash,
      approval,
    }
  }
  const purpose: NoncePurpose = { kind: 'fire', operator: operator.id, event: eventHash }
  if (body.action === undefined) {
    if (!operator.custom)
      return refuse(new ProblemError('forbidden', `operator "${operator.id}" has no custom event form`))
    return { cluster, principal, purpose, eventHash }
  }
  const action = operator.actions.get(body.action)
  if (!action)
    return refuse(new ProblemError('forbidden', `operator "${operator.id}" has no quick action "${body.action}"`))
  const event = body.event
  if (event.cluster !== action.cluster || event.name !== action.name || event.coalesce !== action.coalesce) {
    return refuse(new ProblemError('invalid-event', `the event differs from quick action "${action.id}"`))
  }
  if (action.payload.kind === 'fixed' && event.payload !== action.payload.value) {
    return refuse(new ProblemError('invalid-event', `quick action "${action.id}" has a fixed payload`))
  }
  if (action.payload.kind === 'ask' && !action.askPattern!.test(event.payload)) {
    return refuse(
      new ProblemError('invalid-event', `${action.payload.label} must match ${action.payload.pattern}`, {
        extensions: { pattern: action.payload.pattern },
      }),
    )
  }
  return {
    cluster,
    principal,
    purpose,
    eventHash,
    action: {
      id: action.id,
      label: action.label,
      danger: action.danger,
      ...(action.approvers ? { approvers: action.approvers } : {}),
    },
  }
}

/** Check scope and Serf's size rule as the enqueue path will, before anything is signed. */
async function admit(c: Context<PageEnv>, resolved: Resolved, event: PageEvent, channel: string): Promise<void> {
  await admitEvent(c.env, {
    principal: resolved.principal,
    cluster: resolved.cluster,
    event: { name: event.name, payload: utf8(event.payload), coalesce: event.coalesce },
    channel,
  })
}

async function openApproval(c: Context<PageEnv>, resolved: Resolved, event: PageEvent, channel: string) {
  const action = resolved.action!
  const approval: Approval = {
    id: `apr_${randomToken().slice(0, 20)}`,
    requester: c.get('operator').id,
    requesterCredential: channel,
    action: action.id,
    label: action.label,
    event,
    approvers: action.approvers!,
    danger: action.danger,
    expiresAt: Date.now() + APPROVAL_TTL_MS,
  }
  await directoryOf(c.env).openApproval(approval)
  await queueOf(c.env, resolved.cluster.id).recordAttempt(resolved.cluster, {
    decision: 'pending',
    door: 'page',
    principal: resolved.principal.id,
    channel,
    name: event.name,
    payloadSha256: await sha256Hex(utf8(event.payload)),
    reason: `waiting for approval by ${approval.approvers.map((a) => `page:${a}`).join(', ')} (${approval.id})`,
  })
  log('page event waits for approval', {
    operator: resolved.principal.id,
    approval: approval.id,
    approvers: approval.approvers,
  })
  return { id: approval.id, expiresAt: new Date(approval.expiresAt).toISOString(), approvers: approval.approvers }
}
