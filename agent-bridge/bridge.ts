/**
 * The delivery loop: long-poll the edge, emit each batch into Serf in queue order on one RPC
 * connection (paced on the agent's event queue), persist the cursor, acknowledge.
 *
 * Crash safety: the cursor and the outcomes of a batch are on disk before the ack is sent, and
 * an unconfirmed ack is sent again after a restart. What can be emitted twice is only what was
 * in flight when the process died or the RPC connection dropped.
 *
 * Fencing: an event is emitted only while the lease is current by this process's own clock
 * (see held-lease.ts). When it may have lapsed mid-batch, the bridge stops emitting and polls at
 * once: the same token means the lease was still its own; `lease-held` or a new token means
 * another bridge has (or had) the batch, so the rest is dropped and asked for again.
 *
 * Beside it, under the same lease and on the same RPC connection, run the queries (query-runner.ts)
 * and the members report (members-reporter.ts); both end before the lease is released.
 */
import type { Logger } from 'pino'
import { EdgeProblemError } from '../protocol/problem.ts'
import { type BackoffPolicy, pause, realClock, wallClockMs } from '../protocol/timing.ts'
import { MAX_POLL_WAIT_MS, type PollResponse, type QueuedEvent } from '../protocol/wire.ts'
import { AgentLink, BridgeFatalError } from './agent-link.ts'
import type { CursorState, CursorStore } from './cursor-store.ts'
import type { EdgeClient } from './edge-client.ts'
import { HeldLease } from './held-lease.ts'
import { MembersReporter } from './members-reporter.ts'
import type { BridgeMetrics, HealthReport } from './metrics.ts'
import type { PacerOptions } from './pacer.ts'
import { QueryRunner } from './query-runner.ts'
import { recoveryFor } from './recovery.ts'
import type { SerfRpcClient } from './serf-rpc.ts'
import { UnackedBatch } from './unacked-batch.ts'

export interface BridgeOptions {
  bridgeId: string
  edge: EdgeClient
  serf: SerfRpcClient
  cursor: CursorStore
  logger: Logger
  metrics: BridgeMetrics
  /** Events per poll (default 256). */
  batchSize?: number
  /** Long-poll wait (default and most {@link MAX_POLL_WAIT_MS}). */
  pollWaitMs?: number
  /** Backoff after edge failures: first step and cap (defaults 500 ms, 30 s). */
  backoff?: Partial<BackoffPolicy>
  pacing?: Omit<PacerOptions, 'onWait' | 'onPace' | 'onBackoff' | 'clock'>
}

export { BridgeFatalError }

export class Bridge {
  readonly #o: Required<Omit<BridgeOptions, 'backoff' | 'pacing'>> & { backoff: BackoffPolicy }
  readonly #stop = new AbortController()
  readonly #agent: AgentLink
  readonly #lease = new HeldLease(realClock)
  readonly #batch: UnackedBatch
  readonly #queries: QueryRunner
  readonly #members: MembersReporter
  #state: CursorState | null = null
  #failures = 0
  #lastEdgeContact = 0
  #standbyHolder: string | null = null
  /** Highest sequence the edge handed over: the next poll asks for what comes after. */
  #handedThrough = 0

  constructor(options: BridgeOptions) {
    this.#o = {
      batchSize: 256,
      pollWaitMs: MAX_POLL_WAIT_MS,
      ...options,
      backoff: { initialMs: 500, maxMs: 30_000, ...options.backoff },
    }
    this.#agent = new AgentLink(options.serf, options.logger, options.metrics, this.#stop.signal)
    this.#batch = new UnackedBatch({
      agent: this.#agent,
      pacing: options.pacing,
      lease: this.#lease,
      logger: options.logger,
      metrics: options.metrics,
      stop: this.#stop.signal,
    })
    const { bridgeId, edge, serf, logger, metrics } = options
    const beside = { bridgeId, edge, serf, logger, metrics, leaseToken: () => this.#lease.current?.token ?? null }
    this.#queries = new QueryRunner({ ...beside, pollWaitMs: this.#o.pollWaitMs })
    this.#members = new MembersReporter({ ...beside, reconnect: () => this.#agent.connect() })
  }

  /** Run until {@link stop}; rejects with {@link BridgeFatalError} on an unrecoverable error. */
  async run(): Promise<void> {
    const { logger, cursor } = this.#o
    this.#state = await cursor.load()
    this.#handedThrough = this.#state.cursor
    this.#o.metrics.cursor.set(this.#state.cursor)
    logger.info(
      { cursorFile: cursor.path, cursor: this.#state.cursor, pendingAck: this.#state.pendingAck },
      'bridge starting',
    )
    try {
      await this.#agent.connect()
      // Log the pace at start; a failed read is retried with the first event (and reconnects there).
      if (!this.#stopping) await this.#batch.readPace().catch(() => {})
      this.#queries.start()
      this.#members.start()
      while (!this.#stopping) {
        try {
          await this.#cycle()
        } catch (error) {
          await this.#recover(error)
        }
      }
    } finally {
      await Promise.all([this.#queries.stop(), this.#members.stop()])
      await this.#shutdown()
      await this.#agent.close()
    }
  }

  /** Stop polling, let in-flight RPCs finish, persist and ack, release the lease. */
  stop(): void {
    if (!this.#stopping) this.#o.logger.info('bridge stopping')
    this.#stop.abort(new Error('bridge stopping'))
  }

  /** For `/healthz`. */
  health(): HealthReport {
    const edgeFresh = Date.now() - this.#lastEdgeContact < 2 * this.#o.pollWaitMs + 10_000
    const lease = this.#lease.current
    return {
      healthy: !this.#stopping && this.#agent.connected && edgeFresh,
      role: lease ? 'active' : 'standby',
      serfConnected: this.#agent.connected,
      edgeContactAgoMs: this.#lastEdgeContact ? Date.now() - this.#lastEdgeContact : null,
      cursor: this.#state?.cursor ?? null,
      leaseExpiresAt: lease?.expiresAt ?? null,
    }
  }

  get #stopping(): boolean {
    return this.#stop.signal.aborted
  }

  async #cycle(): Promise<void> {
    const { edge, metrics, logger } = this.#o
    const state = this.#state!
    // The next long-poll runs while the last batch settles (drains, then acks), so an event
    // that arrives meanwhile is handed over at once instead of after the drain. With events
    // still to emit (the lease lapsed under them) it only asks whether the lease is ours; its
    // wait is bounded so that its answer leaves time to emit under the lease it renews.
    const sentAt = realClock.now()
    const polling = edge.poll(
      {
        bridgeId: this.#o.bridgeId,
        after: this.#handedThrough,
        limit: this.#o.batchSize,
        waitMs: this.#batch.toEmit > 0 ? 0 : this.#lease.pollWaitMs(this.#o.pollWaitMs),
      },
      this.#stop.signal,
    )
    // When the answer arrived, not when the loop gets to it (after settling the last batch).
    let answeredAt = 0
    polling.then(
      () => {
        answeredAt = wallClockMs()
      },
      () => {},
    )
    if (this.#batch.size > 0) await this.#settle()
    const page = await polling
    this.#edgeOk()
    const events = this.#takeLease(page, sentAt)
    if (!events) return
    if (events.length > 0 && logger.isLevelEnabled('debug'))
      logger.debug(
        { from: events[0]!.sequence, through: events.at(-1)!.sequence, answeredAt, backlog: page.backlog },
        'events handed over',
      )
    metrics.backlog.set(page.backlog)
    const head = page.settledThrough + page.backlog
    if (head < this.#handedThrough && this.#batch.size === 0) {
      logger.warn(
        { cursor: state.cursor, edgeHead: head },
        'cursor is ahead of the edge queue (new queue?); resuming from the edge',
      )
      state.cursor = this.#handedThrough = page.settledThrough
      await this.#o.cursor.save(state)
    }
    if (state.pendingAck) await this.#flushAck()
    await this.#deliver(events)
  }

  /**
   * Apply the lease a poll sent at `sentAt` was answered with; returns the events to deliver,
   * or null for an answer too late to trust (the next poll asks again for the same events).
   */
  #takeLease(page: PollResponse, sentAt: number): QueuedEvent[] | null {
    const { logger, metrics } = this.#o
    const grant = this.#lease.granted(page.lease, sentAt)
    if (grant === 'stale') {
      logger.warn(
        { tookMs: Math.round(realClock.now() - sentAt), leaseTtlMs: page.lease.ttlMs },
        'the poll answer came too late to trust the lease it grants; polling again',
      )
      return null
    }
    this.#standbyHolder = null
    metrics.leaseHeld.set(1)
    if (grant === 'renewed') return page.events
    logger.info(
      { leaseToken: page.lease.token, expiresAt: page.lease.expiresAt },
      'lease acquired: this bridge is active',
    )
    if (this.#batch.size === 0) return page.events
    // Another bridge held the lease since these were handed over and may have settled them:
    // what is still queued comes back from the cursor, in order, with the next poll.
    this.#abandonBatch('the lease changed hands since this batch was handed over; dropped the rest of it')
    return []
  }

  /** Emit `events` after what is still to emit, in queue order. */
  async #deliver(events: QueuedEvent[]): Promise<void> {
    if (events.length > 0) {
      this.#batch.add(events)
      this.#handedThrough = events.at(-1)!.sequence
    }
    if (this.#batch.toEmit > 0) await this.#batch.emit()
  }

  /**
   * Ack only what has left the agent: an event still in its broadcast queue dies with the
   * agent. Wait for the queue to drain, persist the cursor with the outcomes, then ack.
   */
  async #settle(): Promise<void> {
    const { logger, metrics } = this.#o
    for (;;) {
      // A stopping bridge sends nothing more, nor one unsure of its lease: settle what Serf
      // already confirmed.
      if (this.#batch.toEmit > 0 && !this.#stopping && !this.#lease.lapsed) {
        await this.#batch.emit()
        continue
      }
      if (this.#batch.emitted === 0) return
      const drained = await this.#agent.drain(this.#stopping)
      if (drained !== false) break
      if (this.#stopping) return this.#batch.forgetOutcomes()
      await this.#batch.resend(new Error('connection lost while waiting for the broadcast queue'))
    }
    const { first, through, outcomes } = this.#batch.takeEmitted()!
    const rejected = outcomes
      .filter((o) => o.error !== undefined)
      .map((o) => ({ sequence: o.sequence, error: o.error! }))
    const state = this.#state!
    state.cursor = through
    state.pendingAck = { through, rejected }
    await this.#o.cursor.save(state)
    metrics.cursor.set(through)
    logger.info(
      { from: first, through, emitted: outcomes.length - rejected.length, rejected: rejected.length },
      'batch emitted into Serf',
    )
    await this.#flushAck()
  }

  async #flushAck(signal: AbortSignal = this.#stop.signal): Promise<void> {
    const state = this.#state!
    const pending = state.pendingAck
    const lease = this.#lease.current
    if (!pending || !lease) return
    const sentAt = realClock.now()
    try {
      const answer = await this.#o.edge.ack(
        { bridgeId: this.#o.bridgeId, leaseToken: lease.token, through: pending.through, rejected: pending.rejected },
        signal,
      )
      this.#edgeOk()
      this.#lease.renewed(lease.token, sentAt)
      this.#o.metrics.acked.inc(answer.delivered + answer.rejected)
    } catch (error) {
      if (!(error instanceof EdgeProblemError && error.is('lease-lost'))) throw error
      this.#o.logger.warn(
        { through: pending.through, detail: error.detail },
        'lease lost before the ack: the next active bridge may emit these events again',
      )
      this.#lease.drop()
      this.#o.metrics.leaseHeld.set(0)
    }
    state.pendingAck = null
    await this.#o.cursor.save(state)
  }

  async #recover(error: unknown): Promise<void> {
    if (this.#stopping) return
    const { logger, metrics } = this.#o
    const next = recoveryFor(error, this.#failures, this.#o.backoff)
    switch (next.kind) {
      case 'fatal':
        throw next.error
      case 'standby':
        if (this.#standbyHolder !== next.holder)
          logger.info({ holder: next.holder }, 'standby: another bridge holds the lease')
        this.#standbyHolder = next.holder
        this.#lease.drop()
        metrics.leaseHeld.set(0)
        this.#abandonBatch('lease lost mid-batch; dropped the rest of the batch: the active bridge sends it')
        this.#edgeOk()
        return pause(next.delayMs, this.#stop.signal)
      case 'reconnect':
        metrics.reconnects.inc()
        logger.warn({ err: next.reason }, 'Serf agent unreachable; reconnecting')
        return this.#agent.connect()
      case 'backoff':
        metrics.edgeErrors.inc({ kind: next.metricKind })
        this.#failures = next.attempt
        logger.warn(
          { err: next.reason, attempt: next.attempt, retryInMs: next.delayMs },
          'edge call failed; backing off',
        )
        return pause(next.delayMs, this.#stop.signal)
    }
  }

  /**
   * Forget what is unacknowledged: without the lease it is another bridge's to send. The next
   * poll asks again from the cursor for whatever is still queued.
   */
  #abandonBatch(message: string): void {
    const dropped = this.#batch.abandon()
    if (!dropped) return
    this.#o.logger.warn(dropped, message)
    this.#handedThrough = this.#state!.cursor
  }

  async #shutdown(): Promise<void> {
    const { logger, edge } = this.#o
    const grace = AbortSignal.timeout(5_000)
    try {
      if (this.#batch.size > 0) await this.#settle()
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'could not settle the last batch; the next start sends it again')
    }
    try {
      if (this.#state?.pendingAck) await this.#flushAck(grace)
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'could not ack before exit; the next start sends it again')
    }
    const lease = this.#lease.current
    if (lease) {
      try {
        await edge.release(this.#o.bridgeId, lease.token, grace)
        logger.info('lease released')
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'could not release the lease; it lapses by itself')
      }
      this.#lease.drop()
    }
    this.#o.metrics.leaseHeld.set(0)
    logger.info({ cursor: this.#state?.cursor }, 'bridge stopped')
  }

  #edgeOk(): void {
    this.#failures = 0
    this.#lastEdgeContact = Date.now()
  }
}
