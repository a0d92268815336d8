/**
 * The page's calls to `/app/api/*` (protocol/page.ts): one request helper that sends JSON,
 * checks answers against the shared schemas and turns every refusal into a {@link PageProblem}
 * carrying the edge's `detail`, which the page shows as it is.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/browser'
import { z } from 'zod'
import {
  type ChallengeAnswer,
  challengeAnswerSchema,
  type challengeRequestSchema,
  type FireAnswer,
  fireAnswerSchema,
  type Me,
  meSchema,
  type RecentEvent,
  recentEventsSchema,
} from '../../protocol/page.ts'
import { type EventStatus, eventStatusSchema } from '../../protocol/wire.ts'
import { CACHED_AT_HEADER } from './offline.ts'

const PROBLEM_PREFIX = 'urn:serf-edge:problem:'

/** A refusal or failure, as the edge described it (RFC 9457), or as the page did when no answer came. */
export class PageProblem extends Error {
  override name = 'PageProblem'
  /** The problem's slug: `session-required`, `invite-invalid`, `nonce-invalid`, …; `unreachable` without an answer. */
  readonly slug: string
  readonly status: number
  readonly detail: string

  constructor(slug: string, status: number, title: string, detail: string, options?: ErrorOptions) {
    super(title, options)
    this.slug = slug
    this.status = status
    this.detail = detail
  }

  /** What the page shows: the edge's detail, or its title when it gave none. */
  get text(): string {
    return this.detail || this.message
  }
}

const problemSchema = z.object({
  type: z.string().optional(),
  title: z.string().optional(),
  status: z.number().optional(),
  detail: z.string().optional(),
})

/** An answer and, when the service worker served it from its cache, when the edge gave it. */
export interface Read<T> {
  data: T
  cachedAt: string | undefined
}

type ChallengeRequest = z.infer<typeof challengeRequestSchema>

async function request<T>(method: string, path: string, schema: z.ZodType<T> | null, body?: unknown): Promise<Read<T>> {
  let response: Response
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (cause) {
    throw new PageProblem(
      'unreachable',
      0,
      'The edge cannot be reached',
      method === 'GET'
        ? 'No connection to the edge.'
        : 'No answer from the edge. Check the recent events before trying again.',
      { cause },
    )
  }
  if (!response.ok) throw await problemOf(response)
  const cachedAt = response.headers.get(CACHED_AT_HEADER) ?? undefined
  if (schema === null) return { data: undefined as T, cachedAt }
  const parsed = schema.safeParse(await response.json().catch(() => undefined))
  if (!parsed.success) {
    throw new PageProblem(
      'malformed',
      502,
      'Unexpected answer from the edge',
      `${method} ${path}: not the expected shape`,
    )
  }
  return { data: parsed.data, cachedAt }
}

async function problemOf(response: Response): Promise<PageProblem> {
  const parsed = problemSchema.safeParse(await response.json().catch(() => undefined))
  const problem = parsed.success ? parsed.data : {}
  const slug = problem.type?.startsWith(PROBLEM_PREFIX) ? problem.type.slice(PROBLEM_PREFIX.length) : 'http'
  const title = problem.title ?? `HTTP ${response.status}`
  return new PageProblem(slug, problem.status ?? response.status, title, problem.detail ?? '')
}

const post = <T>(path: string, schema: z.ZodType<T> | null, body: unknown = {}): Promise<T> =>
  request('POST', path, schema, body).then((read) => read.data)

const creationOptions = z.record(
  z.string(),
  z.unknown(),
) as unknown as z.ZodType<PublicKeyCredentialCreationOptionsJSON>
const requestOptions = z.record(z.string(), z.unknown()) as unknown as z.ZodType<PublicKeyCredentialRequestOptionsJSON>
const deviceSchema = z.object({ id: z.string(), name: z.string() })

/** The invite's operator and the passkey creation options; `invite-invalid` for a used or expired link. */
export const enrolOptions = (invite: string) =>
  post('/app/api/enrol/options', z.object({ operator: z.string(), options: creationOptions }), { invite })

/** Registers the new passkey for the invite's operator; the answer sets the session cookie. */
export const enrol = (invite: string, deviceName: string, response: RegistrationResponseJSON) =>
  post('/app/api/enrol', z.object({ operator: z.string(), device: deviceSchema }), { invite, deviceName, response })

/** Options for signing in with any passkey of this site (discoverable credentials). */
export const sessionOptions = () => post('/app/api/session/options', z.object({ options: requestOptions }))

/** Opens a session with a passkey assertion; the answer sets the session cookie. */
export const openSession = (response: AuthenticationResponseJSON) =>
  post('/app/api/session', z.object({ operator: z.string(), device: deviceSchema }), { response })

export const closeSession = () => request('DELETE', '/app/api/session', null).then(() => undefined)

/** Who is signed in, their quick actions and the approvals waiting for them. */
export const me = (): Promise<Read<Me>> => request('GET', '/app/api/me', meSchema)

/** A cluster's recent events, newest first. */
export const recentEvents = (cluster: string): Promise<Read<RecentEvent[]>> =>
  request('GET', `/app/api/clusters/${encodeURIComponent(cluster)}/events`, recentEventsSchema).then((read) => ({
    data: read.data.events,
    cachedAt: read.cachedAt,
  }))

/** The status of an event this operator queued. */
export const eventStatus = (cluster: string, id: string): Promise<EventStatus> =>
  request(
    'GET',
    `/app/api/clusters/${encodeURIComponent(cluster)}/events/${encodeURIComponent(id)}`,
    eventStatusSchema,
  ).then((read) => read.data)

/** A single-use nonce and the challenge that binds it to `body.event`. */
export const challenge = (body: ChallengeRequest): Promise<ChallengeAnswer> =>
  post('/app/api/actions/challenge', challengeAnswerSchema, body)

/** Fires (or asks approval for) the event the assertion signed. */
export const fire = (
  body: ChallengeRequest & { nonce: string; response: AuthenticationResponseJSON },
): Promise<FireAnswer> => post('/app/api/actions/fire', fireAnswerSchema, body)
