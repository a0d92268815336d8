/**
 * Operators' admin API, for senders allowed to manage them: one-time invite links that enrol a
 * phone's passkey, the list of enrolled devices, and revocation, effective at once.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import { sha256Hex } from '../../protocol/bytes.ts'
import { INVITE_TTL_MS } from '../../protocol/page.ts'
import { mayManageOperator } from '../auth/scope.ts'
import { log } from '../doors/page/enrol.ts'
import { pageParty, randomToken } from '../doors/page/session.ts'
import type { AppEnv } from '../env.ts'
import { directoryOf } from '../operators/directory.ts'
import { ProblemError } from '../problem.ts'
import { readJson } from './body.ts'
import { limitBody, requireJson, sender } from './middleware.ts'

export const operatorRoutes = new Hono<AppEnv>()

const emptyBody = z.strictObject({})

operatorRoutes.post('/:operator/invites', limitBody, requireJson, sender, async (c) => {
  const operator = manageable(c, c.req.param('operator'))
  await readJson(c, emptyBody)
  const token = randomToken()
  const expiresAt = Date.now() + INVITE_TTL_MS
  await directoryOf(c.env).createInvite(operator, await sha256Hex(token), expiresAt)
  log('invite created', { operator, sender: c.get('sender').id, expiresAt: new Date(expiresAt).toISOString() })
  const url = `${pageParty(c).origin}/app/#invite=${token}`
  return c.json({ operator, url, expiresAt: new Date(expiresAt).toISOString() }, 201)
})

operatorRoutes.get('/devices', sender, async (c) => {
  const wanted = c.req.query('operator')
  if (wanted !== undefined) manageable(c, wanted)
  const who = c.get('sender')
  const devices = (await directoryOf(c.env).devices(wanted)).filter((d) => mayManageOperator(who, d.operator))
  return c.json({ devices })
})

operatorRoutes.post('/devices/:id/revoke', limitBody, requireJson, sender, async (c) => {
  await readJson(c, emptyBody)
  const id = c.req.param('id')
  const directory = directoryOf(c.env)
  const device = (await directory.devices()).find((d) => d.id === id)
  if (!device) throw new ProblemError('unknown-device', `no device "${id}"`)
  manageable(c, device.operator)
  const revoked = (await directory.revoke(id))!
  log('device revoked', { operator: revoked.operator, device: id, sender: c.get('sender').id })
  return c.json({ device: revoked })
})

/**
 * The operator, if configured and within the sender's reach.
 * @throws {ProblemError} unknown-operator, forbidden
 */
function manageable(c: import('hono').Context<AppEnv>, operator: string): string {
  if (!c.get('config').page.operators.has(operator))
    throw new ProblemError('unknown-operator', `unknown operator "${operator}"`)
  const who = c.get('sender')
  if (!mayManageOperator(who, operator)) {
    throw new ProblemError('forbidden', `sender "${who.id}" may not manage operator "${operator}"`)
  }
  return operator
}
