/**
 * RFC 9457 problem details: the one error type of the edge. Anything that refuses a request
 * throws a `ProblemError`; `onError` in index.ts turns it into `application/problem+json`.
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
  unauthenticated: { status: 401, title: 'Request not authenticated' },
  forbidden: { status: 403, title: "Outside the sender's scope" },
  'unknown-cluster': { status: 404, title: 'Unknown cluster' },
  'unknown-event': { status: 404, title: 'Unknown event' },
  'not-found': { status: 404, title: 'No such endpoint' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'request-id-reused': { status: 409, title: 'Request id already used for another body' },
  'lease-held': { status: 409, title: 'Another bridge holds the lease' },
  'lease-lost': { status: 409, title: 'Lease is no longer held by this bridge' },
  'queue-full': { status: 429, title: 'Cluster queue is full' },
  'invalid-config': { status: 500, title: 'Edge configuration is invalid' },
  internal: { status: 500, title: 'Internal error' },
} as const

/** A problem type slug. */
export type ProblemType = keyof typeof PROBLEMS

/** The URI that names a problem type in the `type` member. */
export const problemTypeUri = (type: ProblemType): string => `urn:serf-edge:problem:${type}`

/**
 * A refusal with everything the caller needs to act on it.
 * @example throw new ProblemError('forbidden', 'sender "bot" may not fire "reboot" on "prod"')
 */
export class ProblemError extends Error {
  override name = 'ProblemError'
  readonly type: ProblemType
  readonly status: number
  readonly extensions: Record<string, unknown>
  readonly headers: Record<string, string>

  constructor(
    type: ProblemType,
    detail: string,
    options: { extensions?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail, { cause: options.cause })
    this.type = type
    this.status = PROBLEMS[type].status
    this.extensions = options.extensions ?? {}
    this.headers = options.headers ?? {}
  }

  /** The `application/problem+json` response for this problem. */
  toResponse(instance?: string): Response {
    const body = {
      type: problemTypeUri(this.type),
      title: PROBLEMS[this.type].title,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...this.extensions,
    }
    return new Response(JSON.stringify(body), {
      status: this.status,
      headers: { 'content-type': 'application/problem+json', ...this.headers },
    })
  }
}
