/**
 * The sender SDK's errors: one class per way a call can fail, each carrying what the caller
 * needs to act on it. A bad key string surfaces as `KeyFormatError` from protocol/signature.ts.
 */
import type { EventStatus } from '../protocol/wire.ts'

export { EdgeProblemError, EdgeUnreachableError, type Problem } from '../protocol/problem.ts'

/** The SDK's options cannot work: bad edge URL, cluster id, sender or request id. */
export class ClientConfigError extends Error {
  override name = 'ClientConfigError'
}

/** The event was refused locally, before anything was sent, because the edge would refuse it. */
export class EventValidationError extends Error {
  override name = 'EventValidationError'
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
