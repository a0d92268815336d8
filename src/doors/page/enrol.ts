/**
 * Enrolment and sign-in: an invite link creates a passkey for its operator once; a discoverable
 * passkey assertion opens a session.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { fromBase64Url, fromUtf8, sha256Hex, toBase64Url, utf8 } from '../../../protocol/bytes.ts'
import { ACTION_NONCE_TTL_MS } from '../../../protocol/page.ts'
import { directoryOf } from '../../operators/directory.ts'
import { ProblemError } from '../../problem.ts'
import { readJson } from '../../routes/body.ts'
import { endSession, type PageEnv, pageParty, randomToken, startSession } from './session.ts'
import {
  type AuthenticationResponseJSON,
  authenticationOptions,
  type RegistrationResponseJSON,
  registrationOptions,
  verifyAssertion,
  verifyRegistration,
} from './webauthn.ts'

const credentialJson = z.looseObject({ id: z.string().min(1).max(1024), response: z.looseObject({}) })
const inviteSchema = z.strictObject({ invite: z.string().min(16).max(128) })
const enrolSchema = z.strictObject({
  invite: z.string().min(16).max(128),
  deviceName: z.string().trim().min(1).max(64),
  response: credentialJson,
})
const signInSchema = z.strictObject({ response: credentialJson })

export const enrolRoutes = new Hono<PageEnv>()

enrolRoutes.post('/enrol/options', async (c) => {
  const { invite } = await readJson(c, inviteSchema)
  const hash = await sha256Hex(invite)
  const directory = directoryOf(c.env)
  const state = await directory.invite(hash)
  if (state.kind === 'invalid') throw new ProblemError('invite-invalid', `${state.reason}: ask for a new one`)
  const existing = await directory.activeCredentials(state.operator)
  const options = await registrationOptions(pageParty(c), state.operator, state.userId, existing)
  await directory.setInviteChallenge(hash, options.challenge)
  return c.json({ operator: state.operator, options })
})

enrolRoutes.post('/enrol', async (c) => {
  const body = await readJson(c, enrolSchema)
  const hash = await sha256Hex(body.invite)
  const directory = directoryOf(c.env)
  const state = await directory.invite(hash)
  if (state.kind === 'invalid') throw new ProblemError('invite-invalid', `${state.reason}: ask for a new one`)
  if (!state.challenge) throw new ProblemError('invite-invalid', 'ask for the enrolment options of this invite first')
  const credential = await verifyRegistration(
    pageParty(c),
    body.response as unknown as RegistrationResponseJSON,
    state.challenge,
    body.deviceName,
  )
  const device = await directory.enrol(hash, credential, `dev_${randomToken().slice(0, 16)}`)
  if ('invalid' in device) throw new ProblemError('invite-invalid', device.invalid)
  log('device enrolled', { operator: device.operator, device: device.id, credential: device.credentialId })
  await startSession(c, device.operator, device.id)
  return c.json(
    { operator: device.operator, device: { id: device.id, name: device.name, createdAt: device.createdAt } },
    201,
  )
})

enrolRoutes.post('/session/options', async (c) => {
  const nonce = randomToken()
  await directoryOf(c.env).issueNonce(nonce, { kind: 'session' }, Date.now() + ACTION_NONCE_TTL_MS)
  const options = await authenticationOptions(pageParty(c), challengeOf(nonce))
  return c.json({ options })
})

enrolRoutes.post('/session', async (c) => {
  const { response } = await readJson(c, signInSchema)
  const assertion = response as unknown as AuthenticationResponseJSON
  const nonce = signedChallenge(assertion)
  const directory = directoryOf(c.env)
  if (!nonce || !(await directory.consumeNonce(nonce, { kind: 'session' }))) {
    throw new ProblemError('nonce-invalid', 'this sign-in challenge is unknown, spent or expired: try again')
  }
  const stored = await directory.credential(assertion.id)
  if (!stored || stored.revoked)
    throw new ProblemError('passkey-rejected', 'this passkey is not enrolled, or was revoked')
  if (!c.get('config').page.operators.has(stored.operator)) {
    throw new ProblemError('passkey-rejected', `operator "${stored.operator}" is no longer configured`)
  }
  const counter = await verifyAssertion(pageParty(c), assertion, toBase64Url(challengeOf(nonce)), stored)
  const use = await directory.recordUse(stored.deviceId, counter)
  if (use !== 'ok') throw new ProblemError('passkey-rejected', useRefusal(use))
  await startSession(c, stored.operator, stored.deviceId)
  log('operator signed in', { operator: stored.operator, device: stored.deviceId })
  return c.json({ operator: stored.operator, device: { id: stored.deviceId, name: stored.name } })
})

enrolRoutes.delete('/session', async (c) => {
  await endSession(c)
  return c.body(null, 204)
})

/** A sign-in challenge is the nonce itself, as bytes: nothing else to bind. */
const challengeOf = (nonce: string) => utf8(nonce)

/** The nonce a sign-in assertion signed, read from its client data (verified afterwards). */
function signedChallenge(assertion: AuthenticationResponseJSON): string | null {
  try {
    const clientData = JSON.parse(fromUtf8(fromBase64Url(assertion.response.clientDataJSON))) as { challenge?: unknown }
    return typeof clientData.challenge === 'string' ? fromUtf8(fromBase64Url(clientData.challenge)) : null
  } catch {
    return null
  }
}

/** Why a verified assertion's use was refused by the directory. */
export const useRefusal = (use: 'revoked' | 'counter'): string =>
  use === 'revoked'
    ? 'this passkey was revoked'
    : "the passkey's signature counter did not move forward: a cloned or replayed authenticator"

export function log(msg: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ level: 'info', msg, door: 'page', ...fields }))
}
