/**
 * The delivery loop: long-poll the edge, emit each batch into Serf in queue order on one RPC
 * connection (paced on the agent's event queue), persist the cursor, acknowledge.
 *
 * Crash safety: the cursor and the outcomes of a batch are on disk before the ack is sent, and
 * an unconfirmed ack is sent again after a restart. What can be emitted twice is only what was
 * in flight when the process died or the RPC connection dropped.
 */
import type { Logger } from 'pino'
import type { Lease, QueuedEvent } from '../protocol/wire.ts'
import { AgentLink, BridgeFatalError, type Outcome, type Sent } from './agent-link.ts'
import type { CursorState, CursorStore } from './cursor-store.ts'
import { type EdgeClient, EdgeProblemError, EdgeUnreachableError } from './edge-client.ts'
import type { BridgeMetrics, HealthReport } from './metrics.ts'
import { Pacer, type PacerOptions } from './pacer.ts'
import { SerfConnectionError, SerfRemoteError, type SerfRpcClient, SerfTimeoutError } from './serf-rpc.ts'

export interface BridgeOptions {
  bridgeId: string
  edge: EdgeClient
  serf: SerfRpcClient
  cursor: CursorStore
  logger: Logger
  metrics: BridgeMetrics
  /** Events per poll (default 256). */
  batchSize?: number
  /** Long-poll wait (default 25 s). */
  pollWaitMs?: number
  /** Backoff after edge failures: first step and cap (defaults 500 ms, 30 s). */
  backoff?: { initialMs?: number; maxMs?: number }
  pacing?: Omit<PacerOptions, 'onWait'>
}

export { BridgeFatalError }

export class Bridge {
  readonly #o: Required<Omit<BridgeOptions, 'backoff' | 'pacing'>> & { backoff: { initialMs: number; maxMs: number } }
  readonly #pacer: Pacer
  readonly #stop = new AbortController()
  readonly #agent: AgentLink
  #state: CursorState | null = null
  #lease: Lease | null = null
  #failures = 0
  #lastEdgeContact = 0
  #standbyHolder: string | null = null
  /** Emitted into Serf but not yet acknowledged, in queue order; `#outcomes` are theirs. */
  #unacked: QueuedEvent[] = []
  #outcomes: Outcome[] = []
  /** Highest sequence handed to Serf: the next poll asks for what comes after. */
  #emittedThrough = 0

  constructor(options: BridgeOptions) {
    this.#o = {
      batchSize: 256,
      pollWaitMs: 25_000,
      ...options,
      backoff: { initialMs: 500, maxMs: 30_000, ...options.backoff },
    }
    const agent = new AgentLink(options.serf, options.logger, options.metrics, this.#stop.signal)
    this.#agent = agent
    this.#pacer = new Pacer(
      { sample: () => agent.sample() },
      {
        ...options.pacing,
        onWait: (ms) => {
          this.#o.metrics.pacingWaits.inc()
          this.#o.metrics.pacingWaitSeconds.inc(ms / 1000)
        },
      },
    )
  }

  /** Run until {@link stop}; rejects with {@link BridgeFatalError} on an unrecoverable error. */
  async run(): Promise<void> {
    const { logger, cursor } = this.#o
    this.#state = await cursor.load()
    this.#emittedThrough = this.#state.cursor
    this.#o.metrics.cursor.set(this.#state.cursor)
    logger.info(
      { cursorFile: cursor.path, cursor: this.#state.cursor, pendingAck: this.#state.pendingAck },
      'bridge starting',
    )
    try {
      await this.#agent.connect()
      while (!this.#stopping) {
        try {
          await this.#cycle()
        } catch (error) {
          await this.#recover(error)
        }
      }
    } finally {
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
    return {
      healthy: !this.#stopping && this.#agent.connected && edgeFresh,
      role: this.#lease ? 'active' : 'standby',
      serfConnected: this.#agent.connected,
      edgeContactAgoMs: this.#lastEdgeContact ? Date.now() - this.#lastEdgeContact : null,
      cursor: this.#state?.cursor ?? null,
      leaseExpiresAt: this.#lease?.expiresAt ?? null,
    }
  }

  get #stopping(): boolean {
    return this.#stop.signal.aborted
  }

  async #cycle(): Promise<void> {
    const { edge, metrics, logger } = this.#o
    const state = this.#state!
    // The next long-poll runs while the last batch settles (drains, then acks), so an event
    // that arrives meanwhile is handed over at once instead of after the drain.
    const polling = edge.poll(
      { bridgeId: this.#o.bridgeId, after: this.#emittedThrough, limit: this.#o.batchSize, waitMs: this.#o.pollWaitMs },
      this.#stop.signal,
    )
    polling.catch(() => {})
    if (this.#unacked.length > 0) await this.#settle()
    const page = await polling
    this.#edgeOk()
    if (!this.#lease || this.#lease.token !== page.lease.token) {
      logger.info(
        { leaseToken: page.lease.token, expiresAt: page.lease.expiresAt },
        'lease acquired: this bridge is active',
      )
    }
    this.#lease = page.lease
    this.#standbyHolder = null
    metrics.leaseHeld.set(1)
    metrics.backlog.set(page.backlog)
    const head = page.settledThrough + page.backlog
    if (head < this.#emittedThrough && this.#unacked.length === 0) {
      logger.warn(
        { cursor: state.cursor, edgeHead: head },
        'cursor is ahead of the edge queue (new queue?); resuming from the edge',
      )
      state.cursor = this.#emittedThrough = page.settledThrough
      await this.#o.cursor.save(state)
    }
    if (state.pendingAck) await this.#flushAck()
    if (page.events.length > 0) await this.#deliver(page.events)
  }

  /** Emit `events` after what is still unacknowledged, in queue order. */
  async #deliver(events: QueuedEvent[]): Promise<void> {
    this.#unacked.push(...events)
    await this.#emitUnacked()
    this.#emittedThrough = Math.max(this.#emittedThrough, this.#outcomes.at(-1)?.sequence ?? 0)
  }

  /**
   * Emit every unacknowledged event not yet confirmed. When the RPC connection breaks, nothing
   * unacknowledged is known to have left the agent: reconnect and send all of it again.
   */
  async #emitUnacked(): Promise<void> {
    for (;;) {
      const lost = await this.#emitAll(this.#unacked, this.#outcomes)
      if (!lost || this.#stopping) return
      await this.#resend(lost)
    }
  }

  async #resend(error: Error): Promise<void> {
    const { logger, metrics } = this.#o
    const resent = this.#outcomes.length
    metrics.reemitted.inc(resent)
    logger.warn(
      { err: error.message, from: this.#unacked[0]?.sequence, resent },
      'Serf RPC connection lost before the batch left the agent; reconnecting to send it again',
    )
    this.#outcomes = []
    metrics.reconnects.inc()
    await this.#agent.connect()
  }

  /**
   * Ack only what has left the agent: an event still in its broadcast queue dies with the
   * agent. Wait for the queue to drain, persist the cursor with the outcomes, then ack.
   */
  async #settle(): Promise<void> {
    const { logger, metrics } = this.#o
    for (;;) {
      // A stopping bridge sends nothing more and settles what Serf already confirmed.
      if (this.#outcomes.length < this.#unacked.length && !this.#stopping) {
        await this.#emitUnacked()
        continue
      }
      const drained = await this.#agent.drain(this.#stopping)
      if (drained !== false) break
      if (this.#stopping) {
        this.#outcomes = []
        break
      }
      await this.#resend(new Error('connection lost while waiting for the broadcast queue'))
    }
    const outcomes = this.#outcomes
    const first = this.#unacked[0]?.sequence
    this.#unacked = this.#unacked.slice(outcomes.length)
    this.#outcomes = []
    if (outcomes.length === 0) return
    const through = outcomes[outcomes.length - 1]!.sequence
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

  /**
   * Pipeline `events` (after those already in `outcomes`) into Serf, paced, appending each
   * outcome in order. Returns the error that broke the connection, or null.
   */
  async #emitAll(events: QueuedEvent[], outcomes: Outcome[]): Promise<Error | null> {
    const sent: Promise<Sent>[] = []
    for (let i = outcomes.length; i < events.length && !this.#stopping; i++) {
      try {
        await this.#pacer.admit(this.#stop.signal)
      } catch (error) {
        if (this.#stopping) break
        sent.push(Promise.resolve({ sequence: events[i]!.sequence, lost: error as Error }))
        break
      }
      sent.push(this.#agent.emit(events[i]!))
    }
    for (const result of await Promise.all(sent)) {
      if ('lost' in result) return result.lost
      outcomes.push(result)
    }
    return null
  }

  async #flushAck(signal: AbortSignal = this.#stop.signal): Promise<void> {
    const state = this.#state!
    const pending = state.pendingAck
    if (!pending || !this.#lease) return
    try {
      const answer = await this.#o.edge.ack(
        {
          bridgeId: this.#o.bridgeId,
          leaseToken: this.#lease.token,
          through: pending.through,
          rejected: pending.rejected,
        },
        signal,
      )
      this.#edgeOk()
      this.#o.metrics.acked.inc(answer.delivered + answer.rejected)
    } catch (error) {
      if (!(error instanceof EdgeProblemError && error.type.endsWith(':lease-lost'))) throw error
      this.#o.logger.warn(
        { through: pending.through, detail: error.detail },
        'lease lost before the ack: the next active bridge may emit these events again',
      )
      this.#lease = null
      this.#o.metrics.leaseHeld.set(0)
    }
    state.pendingAck = null
    await this.#o.cursor.save(state)
  }

  async #recover(error: unknown): Promise<void> {
    const { logger, metrics } = this.#o
    if (this.#stopping) return
    if (error instanceof EdgeProblemError && error.type.endsWith(':lease-held')) {
      const holder = String(error.problem.holder ?? 'another bridge')
      if (this.#standbyHolder !== holder) logger.info({ holder }, 'standby: another bridge holds the lease')
      this.#standbyHolder = holder
      this.#lease = null
      metrics.leaseHeld.set(0)
      this.#edgeOk()
      const retryAfter = Number(error.problem.retryAfterMs ?? 5_000)
      return this.#sleep(Math.min(Math.max(retryAfter, 250), 10_000))
    }
    if (error instanceof EdgeProblemError && (error.status === 401 || error.status === 403)) {
      throw new BridgeFatalError(
        `the edge refused this bridge (${error.status} ${error.title}): ${error.detail}. Check -bridge-key against the edge's BRIDGE_KEYS_<CLUSTER> secret.`,
        { cause: error },
      )
    }
    if (error instanceof EdgeProblemError && !error.retryable) {
      throw new BridgeFatalError(`the edge refused a bridge call (${error.status} ${error.title}): ${error.detail}`, {
        cause: error,
      })
    }
    if (error instanceof BridgeFatalError) throw error
    if (error instanceof SerfRemoteError) {
      throw new BridgeFatalError(
        `the Serf agent refused the bridge: ${error.message} (check -rpc-auth / SERF_RPC_AUTH)`,
        { cause: error },
      )
    }
    if (error instanceof SerfConnectionError || error instanceof SerfTimeoutError) {
      metrics.reconnects.inc()
      logger.warn({ err: error.message }, 'Serf agent unreachable; reconnecting')
      return this.#agent.connect()
    }
    const kind =
      error instanceof EdgeUnreachableError
        ? 'unreachable'
        : error instanceof EdgeProblemError
          ? `http_${error.status}`
          : 'other'
    metrics.edgeErrors.inc({ kind })
    this.#failures++
    const step = Math.min(this.#o.backoff.maxMs, this.#o.backoff.initialMs * 2 ** (this.#failures - 1))
    const delay = Math.round(step / 2 + (Math.random() * step) / 2)
    logger.warn(
      { err: error instanceof Error ? error.message : String(error), attempt: this.#failures, retryInMs: delay },
      'edge call failed; backing off',
    )
    return this.#sleep(delay)
  }

  async #shutdown(): Promise<void> {
    const { logger, edge } = this.#o
    const grace = AbortSignal.timeout(5_000)
    try {
      if (this.#unacked.length > 0) await this.#settle()
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'could not settle the last batch; the next start sends it again')
    }
    try {
      if (this.#state?.pendingAck) await this.#flushAck(grace)
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'could not ack before exit; the next start sends it again')
    }
    if (this.#lease) {
      try {
        await edge.release(this.#o.bridgeId, this.#lease.token, grace)
        logger.info('lease released')
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'could not release the lease; it lapses by itself')
      }
      this.#lease = null
    }
    this.#o.metrics.leaseHeld.set(0)
    logger.info({ cursor: this.#state?.cursor }, 'bridge stopped')
  }

  #edgeOk(): void {
    this.#failures = 0
    this.#lastEdgeContact = Date.now()
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      const signal = this.#stop.signal
      function done() {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
      signal.addEventListener('abort', done, { once: true })
    })
  }
}
