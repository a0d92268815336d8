/**
 * The page's short session: an opaque random token in an HttpOnly, Secure, SameSite=Strict
 * cookie, stored only as its hash in the operator directory. It lets the page read its actions
 * and statuses; it never fires anything on its own (every action carries a fresh assertion).
 */
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import { sha256Hex, toBase64Url } from '../../../protocol/bytes.ts'
import { SESSION_COOKIE } from '../../../protocol/page.ts'
import type { AppEnv } from '../../env.ts'
import { directoryOf, type Session } from '../../operators/directory.ts'
import { ProblemError } from '../../problem.ts'
import type { OperatorConfig } from './config.ts'
import { type RelyingParty, relyingParty } from './webauthn.ts'

/** The Hono context of a page route once the session is checked. */
export interface PageEnv extends AppEnv {
  Variables: AppEnv['Variables'] & { session: Session; operator: OperatorConfig; sessionToken: string }
}

/** A fresh random token (256 bits), base64url. */
export const randomToken = (): string => toBase64Url(crypto.getRandomValues(new Uint8Array(32)))

/** The page's relying party: the configured origin, or this request's. */
export function pageParty<E extends AppEnv>(c: Context<E>): RelyingParty {
  return relyingParty(c.get('config').page.origin ?? new URL(c.req.url).origin)
}

/** Open a session for a device that just proved itself, and set its cookie. */
export async function startSession<E extends AppEnv>(c: Context<E>, operator: string, deviceId: string): Promise<void> {
  const token = randomToken()
  const ttlMs = c.get('config').page.sessionTtlMs
  await directoryOf(c.env).openSession(await sha256Hex(token), operator, deviceId, Date.now() + ttlMs)
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    secure: true,
    sameSite: 'Strict',
    path: '/',
    maxAge: Math.floor(ttlMs / 1000),
  })
}

/** End the session of this request, if any, and clear its cookie. */
export async function endSession<E extends AppEnv>(c: Context<E>): Promise<void> {
  const token = getCookie(c, SESSION_COOKIE)
  if (token) await directoryOf(c.env).closeSession(await sha256Hex(token))
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true })
}

/**
 * Require a live session of a configured operator whose device is not revoked.
 * @throws {ProblemError} session-required
 */
export const requireSession = createMiddleware<PageEnv>(async (c, next) => {
  const token = getCookie(c, SESSION_COOKIE)
  if (!token) throw new ProblemError('session-required', 'sign in with your passkey first')
  const session = await directoryOf(c.env).session(await sha256Hex(token))
  if (!session)
    throw new ProblemError('session-required', 'your session has ended or its device was revoked: sign in again')
  const operator = c.get('config').page.operators.get(session.operator)
  if (!operator) throw new ProblemError('session-required', `operator "${session.operator}" is no longer configured`)
  c.set('session', session)
  c.set('operator', operator)
  c.set('sessionToken', token)
  await next()
})

/**
 * Refuse a state-changing request from another origin. The SameSite=Strict cookie and the JSON
 * content type already keep cross-site forms out; this names the refusal.
 */
export const sameOrigin = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header('origin')
  if (c.req.method !== 'GET' && origin !== undefined && origin !== pageParty(c).origin) {
    throw new ProblemError('forbidden', `requests to the page API must come from the page (origin ${origin})`)
  }
  await next()
})
