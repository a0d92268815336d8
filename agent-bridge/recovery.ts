/** What the delivery loop does after a failed cycle: stand by, reconnect, back off, or stop. */
import { EdgeProblemError, EdgeUnreachableError } from '../protocol/problem.ts'
import { type BackoffPolicy, backoffDelay } from '../protocol/timing.ts'
import { BridgeFatalError } from './agent-link.ts'
import { SerfConnectionError, SerfRemoteError, SerfTimeoutError } from './serf-rpc.ts'

/** One decision of {@link recoveryFor}. */
export type Recovery =
  /** Another bridge holds the lease: wait `delayMs`, then poll again. */
  | { kind: 'standby'; holder: string; delayMs: number }
  /** The Serf agent went away: reconnect (that retries with its own backoff). */
  | { kind: 'reconnect'; reason: string }
  /** An edge call failed: wait `delayMs`; `attempt` failures in a row, counted as `metricKind`. */
  | { kind: 'backoff'; delayMs: number; attempt: number; metricKind: string; reason: string }
  /** Waiting cannot help: stop the bridge with `error`, whose message tells the operator why. */
  | { kind: 'fatal'; error: BridgeFatalError }

/** A standby waits as long as the edge says the lease has left, within these bounds. */
export const STANDBY_WAIT = { defaultMs: 5_000, minMs: 250, maxMs: 10_000 } as const

/**
 * Decide what to do about `error`, thrown by one cycle of the delivery loop, after `failures`
 * failed edge calls in a row.
 * @example
 * const next = recoveryFor(new EdgeUnreachableError(url, 1, cause), 2, { initialMs: 500, maxMs: 30_000 })
 * // { kind: 'backoff', attempt: 3, delayMs: 1000..2000, metricKind: 'unreachable', ... }
 */
export function recoveryFor(
  error: unknown,
  failures: number,
  backoff: BackoffPolicy,
  random: () => number = Math.random,
): Recovery {
  if (error instanceof BridgeFatalError) return { kind: 'fatal', error }
  if (error instanceof EdgeProblemError) {
    if (error.is('lease-held')) {
      return { kind: 'standby', holder: String(error.problem.holder ?? 'another bridge'), delayMs: standbyWait(error) }
    }
    if (error.status === 401 || error.status === 403) {
      return fatal(
        `the edge refused this bridge (${error.status} ${error.title}): ${error.detail}. Check -bridge-key against the edge's BRIDGE_KEYS_<CLUSTER> secret.`,
        error,
      )
    }
    if (!error.retryable) {
      return fatal(`the edge refused a bridge call (${error.status} ${error.title}): ${error.detail}`, error)
    }
  }
  if (error instanceof SerfRemoteError) {
    return fatal(`the Serf agent refused the bridge: ${error.message} (check -rpc-auth / SERF_RPC_AUTH)`, error)
  }
  if (error instanceof SerfConnectionError || error instanceof SerfTimeoutError) {
    return { kind: 'reconnect', reason: error.message }
  }
  const attempt = failures + 1
  return {
    kind: 'backoff',
    attempt,
    delayMs: backoffDelay(backoff, attempt, random),
    metricKind: metricKind(error),
    reason: error instanceof Error ? error.message : String(error),
  }
}

/** The edge's `retryAfterMs` (when the lease lapses), kept within {@link STANDBY_WAIT}. */
function standbyWait(error: EdgeProblemError): number {
  const retryAfter = error.problem.retryAfterMs
  if (typeof retryAfter !== 'number' || !Number.isFinite(retryAfter)) return STANDBY_WAIT.defaultMs
  return Math.min(Math.max(retryAfter, STANDBY_WAIT.minMs), STANDBY_WAIT.maxMs)
}

function metricKind(error: unknown): string {
  if (error instanceof EdgeUnreachableError) return 'unreachable'
  if (error instanceof EdgeProblemError) return `http_${error.status}`
  return 'other'
}

function fatal(message: string, cause: Error): Recovery {
  return { kind: 'fatal', error: new BridgeFatalError(message, { cause }) }
}
