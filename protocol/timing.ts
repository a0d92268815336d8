/**
 * Waiting, in one place: abortable sleeps, jittered exponential backoff, and a clock that tests
 * can replace. Timers and `AbortSignal` only, so it runs in workerd and Node alike.
 */

/**
 * Wait `ms`, or reject with the signal's reason as soon as it aborts (at once if it already has).
 * @example await sleep(250, controller.signal)
 * @throws the signal's reason when it aborts
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Wait `ms`, or less when the signal aborts; never rejects. For loops that check their own stop
 * flag right after the pause (a stopping daemon ends its backoff at once, without an error).
 */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, signal).catch(() => {
    if (!signal?.aborted) throw new Error('pause ended without an abort')
  })
}

/** Exponential backoff: the first step, its growth per attempt, and a ceiling. */
export interface BackoffPolicy {
  /** Step before the first retry. */
  initialMs: number
  /** Longest step. */
  maxMs: number
  /** Growth per attempt (default 2). */
  multiplier?: number
}

/**
 * The pause before retry number `attempt` (1 for the first retry), with equal jitter: never less
 * than half the step, so many clients retrying together spread out but still back off.
 * @example backoffDelay({ initialMs: 250, maxMs: 5000 }, 3) // between 500 and 1000
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const step = Math.min(policy.maxMs, policy.initialMs * (policy.multiplier ?? 2) ** Math.max(0, attempt - 1))
  return Math.round(step / 2 + random() * (step / 2))
}

/** Time as the code that paces or times out sees it; tests inject one they move by hand. */
export interface Clock {
  /** Milliseconds on a monotonic scale (only differences mean anything). */
  now(): number
  /** As {@link sleep}. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/** The real clock: `performance.now()` and timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  sleep,
}

/**
 * Wall-clock milliseconds since the epoch with `performance.now()`'s sub-millisecond resolution,
 * for timestamps that another process on the same machine subtracts from its own.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now()
}
