/**
 * The lease as this bridge holds it, timed by its own monotonic clock rather than the edge's
 * `expiresAt`, so a paused process (SIGSTOP, a frozen VM) or a wall clock that jumps cannot make
 * an expired lease look current.
 */

import { type Clock, realClock } from '../protocol/timing.ts'
import type { Lease } from '../protocol/wire.ts'

/**
 * How long before the edge's expiry the bridge stops trusting its lease: 10 % of the TTL, at
 * least 2 s, to cover the two clocks running at different speeds; at most half the TTL, so a
 * short lease still leaves time to emit.
 * @example safetyMarginMs(60_000) // 6000
 */
export function safetyMarginMs(ttlMs: number): number {
  return Math.min(ttlMs / 2, Math.max(2_000, ttlMs / 10))
}

/**
 * The edge renews the lease when a poll or an ack *arrives*, so it lapses no earlier than
 * `ttlMs` after that call was *sent*: the bridge's deadline is that send time plus the TTL,
 * less {@link safetyMarginMs}. Past it, the bridge emits nothing until the edge confirms the
 * lease again.
 * @example
 * const sentAt = clock.now()
 * const page = await edge.poll(request)
 * lease.granted(page.lease, sentAt)
 * if (lease.lapsed) { ... poll again before emitting ... }
 */
export class HeldLease {
  readonly #clock: Clock
  #lease: Lease | null = null
  #deadline = Number.NEGATIVE_INFINITY

  constructor(clock: Clock = realClock) {
    this.#clock = clock
  }

  /** The lease last granted, or null while standing by or after losing it. */
  get current(): Lease | null {
    return this.#lease
  }

  /** True once the lease may have lapsed at the edge (and always without a lease). */
  get lapsed(): boolean {
    return this.#clock.now() >= this.#deadline
  }

  /**
   * How long a poll may wait for events so that its answer still leaves at least half of the
   * lease's trusted span to emit them, and at most `longest`. Without a lease, no wait: the
   * first answer tells the TTL.
   * @example lease.pollWaitMs(25_000) // 25000 for a 60 s lease, 2000 for a 6 s one
   */
  pollWaitMs(longest: number): number {
    if (!this.#lease) return 0
    const { ttlMs } = this.#lease
    return Math.min(longest, Math.floor((ttlMs - safetyMarginMs(ttlMs)) / 2))
  }

  /**
   * A poll sent at `sentAt` (on this clock) was answered with `lease`.
   * @returns `acquired` when the token is new to this bridge (the lease changed hands since it
   * last held it), `renewed` when it is the token already held, `stale` (and nothing changes)
   * when the answer came too late to trust: the lease may have lapsed before it arrived
   */
  granted(lease: Lease, sentAt: number): 'acquired' | 'renewed' | 'stale' {
    const deadline = sentAt + lease.ttlMs - safetyMarginMs(lease.ttlMs)
    if (this.#clock.now() >= deadline) return 'stale'
    const renewed = this.#lease?.token === lease.token
    // Answers can arrive out of order: an older renewal never shortens a newer one.
    this.#deadline = renewed ? Math.max(this.#deadline, deadline) : deadline
    this.#lease = lease
    return renewed ? 'renewed' : 'acquired'
  }

  /** An ack carrying `token`, sent at `sentAt`, was accepted: the edge renewed the lease too. */
  renewed(token: number, sentAt: number): void {
    if (this.#lease?.token !== token) return
    this.#deadline = Math.max(this.#deadline, sentAt + this.#lease.ttlMs - safetyMarginMs(this.#lease.ttlMs))
  }

  /** The lease is gone: lost, released, or held by another bridge. */
  drop(): void {
    this.#lease = null
    this.#deadline = Number.NEGATIVE_INFINITY
  }
}
