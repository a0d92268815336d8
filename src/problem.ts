/**
 * RFC 9457 problem details: the one error type of the edge. Anything that refuses a request
 * throws a `ProblemError`; `onError` in index.ts turns it into `application/problem+json`.
 */

import { PROBLEMS, type ProblemType, problemTypeUri } from '../protocol/problem.ts'

export { PROBLEMS, type ProblemType, problemTypeUri }

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
