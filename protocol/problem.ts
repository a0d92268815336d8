/**
 * The edge's error contract, shared by every side: the RFC 9457 problem types it answers with
 * (slug, status, title), and the errors a caller reads back from an answer. The edge throws
 * problems (src/problem.ts); the SDK, the CLI and the bridge match them by slug with
 * `error.is('lease-lost')`.
 */

/** Stable problem types; README lists each with its status. */
export const PROBLEMS = {
  'malformed-json': { status: 400, title: 'Malformed JSON body' },
  'invalid-event': { status: 422, title: 'Invalid event' },
  'invalid-request': { status: 422, title: 'Invalid request' },
  'cluster-mismatch': { status: 400, title: 'Body names another cluster than the path' },
  'unsupported-media-type': { status: 415, title: 'Body must be application/json' },
  'body-too-large': { status: 413, title: 'Request body too large' },
  'event-too-large': { status: 413, title: "Event exceeds the cluster's Serf size limit" },
  'query-too-large': { status: 413, title: "Query exceeds the cluster's Serf query size limit" },
  unauthenticated: { status: 401, title: 'Request not authenticated' },
  forbidden: { status: 403, title: "Outside the sender's scope" },
  'unknown-cluster': { status: 404, title: 'Unknown cluster' },
  'unknown-event': { status: 404, title: 'Unknown event' },
  'unknown-query': { status: 404, title: 'Unknown query' },
  'members-not-reported': { status: 404, title: "No bridge has reported the cluster's members yet" },
  'not-found': { status: 404, title: 'No such endpoint' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'request-id-reused': { status: 409, title: 'Request id already used for another body' },
  'lease-held': { status: 409, title: 'Another bridge holds the lease' },
  'lease-lost': { status: 409, title: 'Lease is no longer held by this bridge' },
  'queue-full': { status: 429, title: 'Cluster queue is full' },
  'session-required': { status: 401, title: 'Sign in with a passkey first' },
  'passkey-rejected': { status: 401, title: 'Passkey assertion not accepted' },
  'nonce-invalid': { status: 409, title: 'Challenge unknown, spent or expired' },
  'invite-invalid': { status: 410, title: 'Invite link unknown, used or expired' },
  'unknown-operator': { status: 404, title: 'Unknown operator' },
  'unknown-device': { status: 404, title: 'Unknown device' },
  'unknown-approval': { status: 404, title: 'Unknown approval request' },
  'invalid-config': { status: 500, title: 'Edge configuration is invalid' },
  internal: { status: 500, title: 'Internal error' },
} as const

/** A problem type slug. */
export type ProblemType = keyof typeof PROBLEMS

const TYPE_PREFIX = 'urn:serf-edge:problem:'

/** The URI that names a problem type in the `type` member. */
export const problemTypeUri = (type: ProblemType): string => `${TYPE_PREFIX}${type}`

/** The slug of a problem type URI, or undefined for a type the edge does not define. */
export function problemSlug(uri: string): ProblemType | undefined {
  if (!uri.startsWith(TYPE_PREFIX)) return undefined
  const slug = uri.slice(TYPE_PREFIX.length)
  return Object.hasOwn(PROBLEMS, slug) ? (slug as ProblemType) : undefined
}

/** An RFC 9457 problem as the edge sends it: `type`, `title`, `status`, `detail`, extensions. */
export interface Problem {
  type: string
  title: string
  status: number
  detail?: string
  [extension: string]: unknown
}

const DETAIL_SNIPPET = 300

/**
 * The edge answered with an error (`application/problem+json`, or anything that is not the
 * answer asked for). `retryable` says whether the edge may answer differently later (5xx, 429).
 * @example
 * try { await fireEvent(options) } catch (error) {
 *   if (error instanceof EdgeProblemError && error.is('forbidden')) console.error(error.detail)
 * }
 */
export class EdgeProblemError extends Error {
  override name = 'EdgeProblemError'
  readonly status: number
  readonly type: string
  readonly title: string
  readonly detail: string
  /** The slug of `type` when the edge defines it (see {@link PROBLEMS}). */
  readonly slug: ProblemType | undefined
  /** The whole problem body, extensions included. */
  readonly problem: Problem

  constructor(problem: Problem, options: { cause?: unknown } = {}) {
    const detail = problem.detail ?? ''
    super(`${problem.status} ${problem.title}${detail ? `: ${detail}` : ''}`, options)
    this.status = problem.status
    this.type = problem.type
    this.title = problem.title
    this.detail = detail
    this.slug = problemSlug(problem.type)
    this.problem = problem
  }

  /** Whether this is the edge's problem `slug`. */
  is(slug: ProblemType): boolean {
    return this.slug === slug
  }

  get retryable(): boolean {
    return this.status === 429 || this.status >= 500
  }

  /**
   * Read a refusal from a response whose body was read as `text`, problem+json or not (a
   * proxy's HTML 502 is a problem too).
   */
  static fromResponse(
    response: { status: number; statusText: string; headers: { get(name: string): string | null } },
    text: string,
  ): EdgeProblemError {
    const fallback: Problem = {
      type: 'about:blank',
      title: response.statusText || `HTTP ${response.status}`,
      status: response.status,
      detail: text.trim().slice(0, DETAIL_SNIPPET),
    }
    if (!/json/i.test(response.headers.get('content-type') ?? '')) {
      return new EdgeProblemError(fallback)
    }
    try {
      const body: unknown = JSON.parse(text)
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return new EdgeProblemError(fallback)
      }
      const fields = body as Record<string, unknown>
      return new EdgeProblemError({
        ...fields,
        type: typeof fields.type === 'string' ? fields.type : 'about:blank',
        title: typeof fields.title === 'string' ? fields.title : fallback.title,
        // The HTTP status is what happened; a body claiming another one does not change that.
        status: response.status,
        detail: typeof fields.detail === 'string' ? fields.detail : undefined,
      })
    } catch (cause) {
      return new EdgeProblemError(fallback, { cause })
    }
  }
}

/** No answer from the edge: every attempt failed at the network level or timed out. */
export class EdgeUnreachableError extends Error {
  override name = 'EdgeUnreachableError'
  readonly url: string
  readonly attempts: number

  constructor(url: string, attempts: number, cause: unknown) {
    const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`
    super(`cannot reach the edge at ${url} (${tries}): ${describeCause(cause)}`, { cause })
    this.url = url
    this.attempts = attempts
  }
}

// fetch failures hide the useful part (ECONNREFUSED, ENOTFOUND) in `cause`.
function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause)
  if (cause.name === 'TimeoutError') return 'timed out'
  const inner = cause.cause
  if (!(inner instanceof Error)) return cause.message
  const code = 'code' in inner ? String(inner.code) : ''
  return inner.message || code || cause.message
}
