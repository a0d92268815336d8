/**
 * Driving the on-call page's API as the page's script does: an invite from the admin API, a
 * passkey enrolled with the software authenticator, a session cookie, and actions signed over
 * the challenge the edge issues. The challenge is recomputed here from the contract's words,
 * not imported, so the edge and this file check each other.
 */
import { runInDurableObject } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import type { AuditPage, AuditRecord } from '../../protocol/audit.ts'
import {
  type Algorithm,
  type AuthenticationResponseJSON,
  type CeremonyOptions,
  type CreationOptions,
  type RequestOptions,
  SoftAuthenticator,
} from './authenticator.ts'
import { EDGE, get, inQueue, post } from './helpers.ts'

export const COOKIE = '__Host-serf-edge-session'

/** What the page signs: the event exactly as shown. */
export interface PageEvent {
  cluster: string
  name: string
  payload: string
  coalesce: boolean
}

/** A body for `/app/api/actions/challenge` (and, with nonce and response, `/fire`). */
export interface ActionRequest {
  event: PageEvent
  action?: string
  approval?: string
}

export interface PageRequestOptions {
  cookie?: string
  /** The Origin header a browser sends with the request; null for none. */
  origin?: string | null
}

/** A request from the page at `EDGE`, carrying the session cookie when given. */
export function pageFetch(method: string, path: string, body?: unknown, options: PageRequestOptions = {}) {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (options.cookie) headers.cookie = `${COOKIE}=${options.cookie}`
  const origin = options.origin === undefined ? EDGE : options.origin
  if (origin !== null && method !== 'GET') headers.origin = origin
  return exports.default.fetch(`${EDGE}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

export const pagePost = (path: string, body: unknown, options?: PageRequestOptions) =>
  pageFetch('POST', path, body, options)
export const pageGet = (path: string, options?: PageRequestOptions) => pageFetch('GET', path, undefined, options)

/** The JSON body of an answer that must have `status`; otherwise throws with what came. */
export async function expectJson<T>(res: Response, status: number): Promise<T> {
  const text = await res.text()
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`)
  return JSON.parse(text) as T
}

/** The session cookie a response sets: its value and attributes (names lower-cased). */
export function setCookie(res: Response): { value: string; attributes: Map<string, string> } | undefined {
  const header = res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`))
  if (!header) return undefined
  const [pair, ...rest] = header.split(';').map((part) => part.trim())
  const attributes = new Map(
    rest.map((part) => {
      const at = part.indexOf('=')
      return at < 0 ? [part.toLowerCase(), ''] : [part.slice(0, at).toLowerCase(), part.slice(at + 1)]
    }),
  )
  return { value: pair!.slice(COOKIE.length + 1), attributes }
}

/** An invite for `operator` from the admin API, signed as sender `ci`; the token from its link. */
export async function invite(operator: string, sender = 'ci') {
  const answer = await expectJson<{ operator: string; url: string; expiresAt: string }>(
    await post(`/v1/operators/${operator}/invites`, {}, { sender }),
    201,
  )
  const url = new URL(answer.url)
  const token = new URLSearchParams(url.hash.slice(1)).get('invite')
  if (!token) throw new Error(`no #invite= token in ${answer.url}`)
  return { ...answer, token, link: url }
}

/** Registration options for an invite (200 expected). */
export async function enrolOptions(token: string) {
  return expectJson<{ operator: string; options: CreationOptions }>(
    await pagePost('/app/api/enrol/options', { invite: token }),
    200,
  )
}

/** A signed-in phone: its passkey, its session cookie and its device. */
export interface Phone {
  operator: string
  authenticator: SoftAuthenticator
  cookie: string
  device: { id: string; name: string; createdAt?: string }
}

/**
 * Invite `operator`, create a passkey for the invite's options and enrol it: the page's whole
 * enrolment. Throws unless the edge answers 201 with a session cookie.
 */
export async function enrolPhone(
  operator: string,
  options: { algorithm?: Algorithm; deviceName?: string; ceremony?: Partial<CeremonyOptions> } = {},
): Promise<Phone> {
  const { token } = await invite(operator)
  const authenticator = await SoftAuthenticator.create(options.algorithm)
  const { options: creation } = await enrolOptions(token)
  const response = await authenticator.register(creation, { origin: EDGE, ...options.ceremony })
  const res = await pagePost('/app/api/enrol', { invite: token, deviceName: options.deviceName ?? 'phone', response })
  const cookie = setCookie(res)?.value
  const body = await expectJson<{ operator: string; device: Phone['device'] }>(res, 201)
  if (!cookie) throw new Error('enrolment set no session cookie')
  return { operator: body.operator, authenticator, cookie, device: body.device }
}

/** Sign in with a passkey (discoverable credential): the session options, an assertion, the cookie. */
export async function signIn(authenticator: SoftAuthenticator, ceremony: Partial<CeremonyOptions> = {}) {
  const { options } = await expectJson<{ options: RequestOptions }>(await pagePost('/app/api/session/options', {}), 200)
  const response = await authenticator.assert(options, { origin: EDGE, ...ceremony })
  return pagePost('/app/api/session', { response })
}

export interface ChallengeAnswer {
  nonce: string
  challenge: string
  expiresAt: string
  options: RequestOptions
}

export async function challenge(phone: Phone, request: ActionRequest): Promise<Response> {
  return pagePost('/app/api/actions/challenge', request, { cookie: phone.cookie })
}

/**
 * The challenge of an action as the contract defines it: base64url(SHA-256(canonical event ‖
 * 0x00 ‖ nonce)), the canonical event being the JSON array ["serf-edge/page/v1", cluster,
 * name, payload, coalesce].
 */
export async function expectedChallenge(event: PageEvent, nonce: string): Promise<string> {
  const head = new TextEncoder().encode(
    JSON.stringify(['serf-edge/page/v1', event.cluster, event.name, event.payload, event.coalesce]),
  )
  const tail = new TextEncoder().encode(nonce)
  const bytes = new Uint8Array([...head, 0, ...tail])
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return btoa(String.fromCharCode(...digest))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
}

export interface Signed {
  answer: ChallengeAnswer
  response: AuthenticationResponseJSON
  body: ActionRequest & { nonce: string; response: AuthenticationResponseJSON }
}

/** Ask for the action's challenge (200 expected) and sign it with the phone's passkey. */
export async function sign(
  phone: Phone,
  request: ActionRequest,
  ceremony: Partial<CeremonyOptions> = {},
  signer: SoftAuthenticator = phone.authenticator,
): Promise<Signed> {
  const answer = await expectJson<ChallengeAnswer>(await challenge(phone, request), 200)
  const response = await signer.assert(answer.options, { origin: EDGE, ...ceremony })
  return { answer, response, body: { ...request, nonce: answer.nonce, response } }
}

/** POST a signed action; `body` may be changed from what was signed. */
export const fireSigned = (phone: Phone, body: Signed['body']) =>
  pagePost('/app/api/actions/fire', body, { cookie: phone.cookie })

/** Sign and fire in one go, as a tap on the page does. */
export async function fireAction(phone: Phone, request: ActionRequest, ceremony: Partial<CeremonyOptions> = {}) {
  const signed = await sign(phone, request, ceremony)
  return { signed, res: await fireSigned(phone, signed.body) }
}

/** Run `fn` on the operator directory's SQLite storage, between its requests. */
export function inDirectory<T>(fn: (sql: SqlStorage) => T): Promise<T> {
  const stub = env.OPERATOR_DIRECTORY.get(env.OPERATOR_DIRECTORY.idFromName('operators'))
  return runInDurableObject(stub, (_, state) => fn(state.storage.sql))
}

/** How many events named `name` the cluster's queue holds. */
export const countQueued = (cluster: string, name: string) =>
  inQueue(cluster, (sql) => sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE name = ?', name).one().n)

/** The cluster's audit records after `after` (all of them, read as sender `ci`). */
export async function auditAfter(cluster: string, after: number): Promise<AuditRecord[]> {
  const records: AuditRecord[] = []
  for (;;) {
    const page = await expectJson<AuditPage>(await get(`/v1/clusters/${cluster}/audit?after=${after}&limit=500`), 200)
    records.push(...page.records)
    after = page.records.at(-1)?.seq ?? after
    if (page.next === undefined) return records
  }
}

/** The position of the cluster's audit trail now: records of a test are those after it. */
export async function auditMark(cluster: string): Promise<number> {
  return (await auditAfter(cluster, 0)).at(-1)?.seq ?? 0
}
