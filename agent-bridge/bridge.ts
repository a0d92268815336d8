/**
 * The delivery loop: long-poll the edge, emit each batch into Serf in queue order on one RPC
 * connection (paced on the agent's event queue), persist the cursor, acknowledge.
 *
 * Crash safety: the cursor and the outcomes of a batch are on disk before the ack is sent, and
 * an unconfirmed ack is sent again after a restart. What can be emitted twice is only what was
 * in flight when the process died or the RPC connection dropped.
 */
import type { Logger } from 'pino'
import { fromBase64 } from '../protocol/bytes.ts'
import type { Lease, QueuedEvent } from '../protocol/wire.ts'
import type { CursorState, CursorStore } from './cursor-store.ts'
import { EdgeProblemError, EdgeUnreachableError, type EdgeClient } from './edge-client.ts'
import type { BridgeMetrics, HealthReport } from './metrics.ts'
import { Pacer, type PacerOptions } from './pacer.ts'
import { SerfConnectionError, SerfRemoteError, SerfTimeoutError, type SerfRpcClient } from './serf-rpc.ts'

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

/** A condition the bridge cannot recover from by waiting: bad key, unknown cluster, bad token. */
export class BridgeFatalError extends Error {
  override name = 'BridgeFatalError'
}

type Outcome = { sequence: number; error?: string }
type Sent = Outcome | { sequence: number; lost: Error }

export class Bridge {
  readonly #o: Required<Omit<BridgeOptions, 'backoff' | 'pacing'>> & { backoff: { initialMs: number; maxMs: number } }
  readonly #pacer: Pacer
  readonly #stop = new AbortController()
  #state: CursorState | null = null
  #lease: Lease | null = null
  #failures = 0
  #lastEdgeContact = 0
  #standbyHolder: string | null = null
  /** Highest event Lamport clock the agent reported: tells a restarted agent apart. */
  #eventClock = 0

  constructor(options: BridgeOptions) {
    this.#o = {
      batchSize: 256,
      pollWaitMs: 25_000,
      ...options,
      backoff: { initialMs: 500, maxMs: 30_000, ...options.backoff },
    }
    this.#pacer = new Pacer(
      {
        sample: async () => {
          const { eventQueue, members, failed, left } = await this.#timed('stats', () => this.#o.serf.stats())
          return { eventQueue, members, failed, left }
        },
      },
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
    const { logger, cursor, serf } = this.#o
    this.#state = await cursor.load()
    this.#o.metrics.cursor.set(this.#state.cursor)
    logger.info({ cursorFile: cursor.path, cursor: this.#state.cursor, pendingAck: this.#state.pendingAck }, 'bridge starting')
    try {
      await this.#connectSerf()
      while (!this.#stopping) {
        try {
          await this.#cycle()
        } catch (error) {
          await this.#recover(error)
        }
      }
    } finally {
      await this.#shutdown()
      await serf.close()
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
      healthy: !this.#stopping && this.#o.serf.connected && edgeFresh,
      role: this.#lease ? 'active' : 'standby',
      serfConnected: this.#o.serf.connected,
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
    const page = await edge.poll(
      { bridgeId: this.#o.bridgeId, after: state.cursor, limit: this.#o.batchSize, waitMs: this.#o.pollWaitMs },
      this.#stop.signal,
    )
    this.#edgeOk()
    if (!this.#lease || this.#lease.token !== page.lease.token) {
      logger.info({ leaseToken: page.lease.token, expiresAt: page.lease.expiresAt }, 'lease acquired: this bridge is active')
    }
    this.#lease = page.lease
    this.#standbyHolder = null
    metrics.leaseHeld.set(1)
    metrics.backlog.set(page.backlog)
    const head = page.settledThrough + page.backlog
    if (head < state.cursor) {
      logger.warn({ cursor: state.cursor, edgeHead: head }, 'cursor is ahead of the edge queue (new queue?); resuming from the edge')
      state.cursor = page.settledThrough
      await this.#o.cursor.save(state)
    }
    if (state.pendingAck) await this.#flushAck()
    if (page.events.length > 0) await this.#deliver(page.events)
  }

  async #deliver(events: QueuedEvent[]): Promise<void> {
    const { logger, metrics } = this.#o
    let outcomes: Outcome[] = []
    while (!this.#stopping) {
      const lost = await this.#emitAll(events, outcomes)
      if (!lost) {
        // Ack only what has left the agent: an event still in its broadcast queue dies with
        // the agent, so the whole batch is sent again if the agent goes away before this.
        const drained = await this.#drainLocalQueue()
        if (drained === true || drained === 'timeout') break
      }
      const error = lost ?? new Error('connection lost while waiting for the broadcast queue')
      // Confirmed or not, nothing of this batch is known to have left the agent: start over.
      const resent = outcomes.length
      metrics.reemitted.inc(resent)
      logger.warn({ err: error.message, from: events[0]!.sequence, resent }, 'Serf RPC connection lost mid-batch; reconnecting to send the batch again')
      outcomes = []
      metrics.reconnects.inc()
      await this.#connectSerf()
    }
    if (outcomes.length === 0) return
    const through = outcomes[outcomes.length - 1]!.sequence
    const rejected = outcomes.filter((o) => o.error !== undefined).map((o) => ({ sequence: o.sequence, error: o.error! }))
    const state = this.#state!
    state.cursor = through
    state.pendingAck = { through, rejected }
    await this.#o.cursor.save(state)
    metrics.cursor.set(through)
    logger.info({ from: events[0]!.sequence, through, emitted: outcomes.length - rejected.length, rejected: rejected.length }, 'batch emitted into Serf')
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
      sent.push(this.#emit(events[i]!))
    }
    for (const result of await Promise.all(sent)) {
      if ('lost' in result) return result.lost
      outcomes.push(result)
    }
    return null
  }

  /**
   * Wait until the local agent's event broadcast queue is empty. A lone agent never drains it
   * (nobody to gossip to), and a stopping bridge does not wait long.
   * @returns true when drained, 'timeout' after a bounded wait, false when the connection broke
   */
  async #drainLocalQueue(): Promise<true | 'timeout' | false> {
    const deadline = Date.now() + (this.#stopping ? 2_000 : 30_000)
    for (;;) {
      let stats
      try {
        stats = await this.#timed('stats', () => this.#o.serf.stats())
      } catch (error) {
        if (error instanceof SerfConnectionError || error instanceof SerfTimeoutError) return false
        throw error
      }
      this.#eventClock = Math.max(this.#eventClock, stats.eventTime)
      if (stats.eventQueue === 0 || stats.members <= 1) return true
      if (Date.now() > deadline) {
        this.#o.logger.warn({ eventQueue: stats.eventQueue }, "Serf's broadcast queue did not drain; acking anyway")
        return 'timeout'
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  /** Emit one event; never rejects, so a pipelined batch can be read in order. */
  async #emit(event: QueuedEvent): Promise<Sent> {
    const { metrics, logger } = this.#o
    try {
      await this.#timed('event', () => this.#o.serf.event(event.name, fromBase64(event.payloadBase64), event.coalesce))
      metrics.emitted.inc()
      metrics.lagSeconds.set((Date.now() - Date.parse(event.enqueuedAt)) / 1000)
      return { sequence: event.sequence }
    } catch (error) {
      if (error instanceof SerfRemoteError && !error.isAuthFailure) {
        metrics.rejected.inc()
        logger.warn({ sequence: event.sequence, id: event.id, name: event.name, serfError: error.message }, 'Serf refused an event')
        return { sequence: event.sequence, error: error.message }
      }
      return { sequence: event.sequence, lost: error as Error }
    }
  }

  async #flushAck(signal: AbortSignal = this.#stop.signal): Promise<void> {
    const state = this.#state!
    const pending = state.pendingAck
    if (!pending || !this.#lease) return
    try {
      const answer = await this.#o.edge.ack(
        { bridgeId: this.#o.bridgeId, leaseToken: this.#lease.token, through: pending.through, rejected: pending.rejected },
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
      throw new BridgeFatalError(`the edge refused this bridge (${error.status} ${error.title}): ${error.detail}. Check -bridge-key against the edge's BRIDGE_KEYS_<CLUSTER> secret.`, { cause: error })
    }
    if (error instanceof EdgeProblemError && !error.retryable) {
      throw new BridgeFatalError(`the edge refused a bridge call (${error.status} ${error.title}): ${error.detail}`, { cause: error })
    }
    if (error instanceof BridgeFatalError) throw error
    if (error instanceof SerfRemoteError) {
      throw new BridgeFatalError(`the Serf agent refused the bridge: ${error.message} (check -rpc-auth / SERF_RPC_AUTH)`, { cause: error })
    }
    if (error instanceof SerfConnectionError || error instanceof SerfTimeoutError) {
      metrics.reconnects.inc()
      logger.warn({ err: error.message }, 'Serf agent unreachable; reconnecting')
      return this.#connectSerf()
    }
    const kind = error instanceof EdgeUnreachableError ? 'unreachable' : error instanceof EdgeProblemError ? `http_${error.status}` : 'other'
    metrics.edgeErrors.inc({ kind })
    this.#failures++
    const step = Math.min(this.#o.backoff.maxMs, this.#o.backoff.initialMs * 2 ** (this.#failures - 1))
    const delay = Math.round(step / 2 + (Math.random() * step) / 2)
    logger.warn({ err: error instanceof Error ? error.message : String(error), attempt: this.#failures, retryInMs: delay }, 'edge call failed; backing off')
    return this.#sleep(delay)
  }

  async #connectSerf(): Promise<void> {
    const { serf, logger } = this.#o
    try {
      await serf.connectWithRetry({
        signal: this.#stop.signal,
        onRetry: ({ attempt, delayMs, error }) =>
          logger.warn({ rpcAddr: serf.address, attempt, retryInMs: delayMs, err: error.message }, 'Serf agent not reachable; retrying'),
      })
      // The handshake succeeds even when the agent wants a token; the first request tells.
      const stats = await serf.stats()
      logger.info({ rpcAddr: serf.address, node: stats.nodeName, members: stats.members }, 'connected to the Serf agent')
      await this.#awaitClockCatchUp(stats.eventTime)
    } catch (error) {
      if (this.#stopping) return
      if (error instanceof SerfRemoteError) {
        throw new BridgeFatalError(`the Serf agent at ${serf.address} refused the RPC connection: ${error.message} (check -rpc-auth / SERF_RPC_AUTH)`, { cause: error })
      }
      throw error
    }
  }

  /**
   * A restarted agent (without a snapshot) starts its event clock at zero until it rejoins and
   * learns the cluster's clock; events it sent before then would be "old" to every other node
   * and dropped. Wait until its clock is back where it was.
   */
  async #awaitClockCatchUp(clock: number): Promise<void> {
    if (clock >= this.#eventClock) {
      this.#eventClock = clock
      return
    }
    const { logger, serf } = this.#o
    logger.warn({ eventClock: clock, before: this.#eventClock }, 'Serf agent restarted; waiting for it to rejoin and catch up its event clock')
    const deadline = Date.now() + 120_000
    while (!this.#stopping && Date.now() < deadline) {
      await this.#sleep(250)
      const stats = await serf.stats()
      if (stats.eventTime >= this.#eventClock) {
        logger.info({ eventClock: stats.eventTime, members: stats.members }, 'Serf agent caught up')
        this.#eventClock = stats.eventTime
        return
      }
    }
    if (!this.#stopping) logger.warn({ before: this.#eventClock }, 'Serf agent clock still behind after 2 minutes; sending anyway')
  }

  async #shutdown(): Promise<void> {
    const { logger, edge } = this.#o
    const grace = AbortSignal.timeout(5_000)
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

  async #timed<T>(command: string, call: () => Promise<T>): Promise<T> {
    const end = this.#o.metrics.rpcSeconds.startTimer({ command })
    try {
      return await call()
    } finally {
      end()
    }
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
