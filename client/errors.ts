/**
 * The sender SDK's errors: one class per way a call can fail, each carrying what the caller
 * needs to act on it. A bad key string surfaces as `KeyFormatError` from protocol/signature.ts.
 */
import type { EventStatus } from '../protocol/wire.ts'

/** The SDK's options cannot work: bad edge URL, cluster id, sender or request id. */
export class ClientConfigError extends Error {
  override name = 'ClientConfigError'
}

/** The event was refused locally, before anything was sent, because the edge would refuse it. */
export class EventValidationError extends Error {
  override name = 'EventValidationError'
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
 *   if (error instanceof EdgeProblemError && error.status === 403) console.error(error.detail)
 * }
 */
export class EdgeProblemError extends Error {
  override name = 'EdgeProblemError'
  readonly status: number
  readonly type: string
  readonly title: string
  readonly detail: string
  /** The whole problem body, extensions included. */
  readonly problem: Problem

  constructor(problem: Problem, options: { cause?: unknown } = {}) {
    const detail = problem.detail ?? ''
    super(`${problem.status} ${problem.title}${detail ? `: ${detail}` : ''}`, options)
    this.status = problem.status
    this.type = problem.type
    this.title = problem.title
    this.detail = detail
    this.problem = problem
  }

  get retryable(): boolean {
    return this.status === 429 || this.status >= 500
  }

  /**
   * Read a refusal from a response whose body was read as `text`, problem+json or not (a
   * proxy's HTML 502 is a problem too).
   */
  static fromResponse(response: Response, text: string): EdgeProblemError {
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

/** `waitForEvent` gave up: the event was still queued when the time ran out. */
export class EventWaitTimeoutError extends Error {
  override name = 'EventWaitTimeoutError'
  readonly id: string
  readonly timeoutMs: number
  /** The last status read, if any read succeeded before the deadline. */
  readonly lastStatus: EventStatus | undefined

  constructor(id: string, timeoutMs: number, lastStatus: EventStatus | undefined) {
    super(`event ${id} was still ${lastStatus?.status ?? 'unconfirmed'} after ${timeoutMs} ms`)
    this.id = id
    this.timeoutMs = timeoutMs
    this.lastStatus = lastStatus
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
