/**
 * The bridge's side of its Serf agent: connecting (and telling a wrong token or a restarted
 * agent apart), emitting one event, waiting for the broadcast queue to drain, sampling `stats`
 * for the pacer. Every RPC is timed into the metrics.
 */
import type { Logger } from 'pino'
import { fromBase64 } from '../protocol/bytes.ts'
import { pause, sleep, wallClockMs } from '../protocol/timing.ts'
import type { QueuedEvent } from '../protocol/wire.ts'
import type { BridgeMetrics } from './metrics.ts'
import type { AgentSample } from './pacer.ts'
import {
  SerfConnectionError,
  SerfRemoteError,
  type SerfRpcClient,
  type SerfStats,
  SerfTimeoutError,
} from './serf-rpc.ts'

/** A condition the bridge cannot recover from by waiting: bad key, unknown cluster, bad token. */
export class BridgeFatalError extends Error {
  override name = 'BridgeFatalError'
}

/** What became of one event: accepted, refused by Serf (with its text), or unknown (`lost`). */
export type Outcome = { sequence: number; error?: string }
export type Sent = Outcome | { sequence: number; lost: Error }

export class AgentLink {
  readonly #serf: SerfRpcClient
  readonly #logger: Logger
  readonly #metrics: BridgeMetrics
  readonly #signal: AbortSignal
  /** Highest event Lamport clock the agent reported: tells a restarted agent apart. */
  #eventClock = 0

  constructor(serf: SerfRpcClient, logger: Logger, metrics: BridgeMetrics, signal: AbortSignal) {
    this.#serf = serf
    this.#logger = logger
    this.#metrics = metrics
    this.#signal = signal
  }

  get connected(): boolean {
    return this.#serf.connected
  }

  /**
   * Connect, retrying with backoff until the agent answers or the bridge stops.
   * @throws {BridgeFatalError} when the agent refuses the RPC token
   */
  async connect(): Promise<void> {
    const serf = this.#serf
    try {
      await serf.connectWithRetry({
        signal: this.#signal,
        onRetry: ({ attempt, delayMs, error }) =>
          this.#logger.warn(
            { rpcAddr: serf.address, attempt, retryInMs: delayMs, err: error.message },
            'Serf agent not reachable; retrying',
          ),
      })
      // The handshake succeeds even when the agent wants a token; the first request tells.
      const stats = await this.#stats()
      this.#logger.info(
        { rpcAddr: serf.address, node: stats.nodeName, members: stats.members },
        'connected to the Serf agent',
      )
      await this.#awaitClockCatchUp(stats.eventTime)
    } catch (error) {
      if (this.#signal.aborted) return
      if (error instanceof SerfRemoteError) {
        throw new BridgeFatalError(
          `the Serf agent at ${serf.address} refused the RPC connection: ${error.message} (check -rpc-auth / SERF_RPC_AUTH)`,
          { cause: error },
        )
      }
      throw error
    }
  }

  /** Emit one event; never rejects, so a pipelined batch can be read in order. */
  async emit(event: QueuedEvent): Promise<Sent> {
    try {
      await this.#timed('event', () => this.#serf.event(event.name, fromBase64(event.payloadBase64), event.coalesce))
      this.#metrics.emitted.inc()
      this.#metrics.lagSeconds.set((Date.now() - Date.parse(event.enqueuedAt)) / 1000)
      if (this.#logger.isLevelEnabled('debug')) {
        // Sub-millisecond wall clock: the bench subtracts the edge's enqueuedAt from it (bench/bridge-hop.ts).
        const acceptedAt = wallClockMs()
        this.#logger.debug(
          {
            sequence: event.sequence,
            enqueuedAt: event.enqueuedAt,
            acceptedAt,
            lagMs: acceptedAt - Date.parse(event.enqueuedAt),
          },
          'event accepted by Serf',
        )
      }
      return { sequence: event.sequence }
    } catch (error) {
      if (error instanceof SerfRemoteError && !error.isAuthFailure) {
        this.#metrics.rejected.inc()
        this.#logger.warn(
          { sequence: event.sequence, id: event.id, name: event.name, serfError: error.message },
          'Serf refused an event',
        )
        return { sequence: event.sequence, error: error.message }
      }
      return { sequence: event.sequence, lost: error as Error }
    }
  }

  /**
   * Wait until the agent's event broadcast queue is empty. A lone agent never drains it
   * (nobody to gossip to); `quick` bounds the wait for a stopping bridge.
   * @returns true when drained, 'timeout' after a bounded wait, false when the connection broke
   */
  async drain(quick: boolean): Promise<true | 'timeout' | false> {
    const deadline = Date.now() + (quick ? 2_000 : 30_000)
    for (;;) {
      let stats: SerfStats
      try {
        stats = await this.#stats()
      } catch (error) {
        if (error instanceof SerfConnectionError || error instanceof SerfTimeoutError) return false
        throw error
      }
      if (stats.eventQueue === 0 || stats.members <= 1) return true
      if (Date.now() > deadline) {
        this.#logger.warn({ eventQueue: stats.eventQueue }, "Serf's broadcast queue did not drain; acking anyway")
        return 'timeout'
      }
      await sleep(25)
    }
  }

  /** The pacer's view of the agent. */
  async sample(): Promise<AgentSample> {
    const { eventQueue, members, failed, left, encrypted } = await this.#stats()
    return { eventQueue, members, failed, left, encrypted }
  }

  close(): Promise<void> {
    return this.#serf.close()
  }

  async #stats(): Promise<SerfStats> {
    const stats = await this.#timed('stats', () => this.#serf.stats())
    this.#eventClock = Math.max(this.#eventClock, stats.eventTime)
    return stats
  }

  /**
   * A restarted agent (without a snapshot) starts its event clock at zero until it rejoins and
   * learns the cluster's clock; events it sent before then would be "old" to every other node
   * and dropped. Wait until its clock is back where it was.
   */
  async #awaitClockCatchUp(clock: number): Promise<void> {
    const before = this.#eventClock
    if (clock >= before) return
    this.#logger.warn(
      { eventClock: clock, before },
      'Serf agent restarted; waiting for it to rejoin and catch up its event clock',
    )
    const deadline = Date.now() + 120_000
    while (!this.#signal.aborted && Date.now() < deadline) {
      await pause(250, this.#signal)
      if (this.#signal.aborted) break
      const stats = await this.#timed('stats', () => this.#serf.stats())
      if (stats.eventTime >= before) {
        this.#logger.info({ eventClock: stats.eventTime, members: stats.members }, 'Serf agent caught up')
        this.#eventClock = stats.eventTime
        return
      }
    }
    if (!this.#signal.aborted)
      this.#logger.warn({ before }, 'Serf agent clock still behind after 2 minutes; sending anyway')
  }

  async #timed<T>(command: string, call: () => Promise<T>): Promise<T> {
    const end = this.#metrics.rpcSeconds.startTimer({ command })
    try {
      return await call()
    } finally {
      end()
    }
  }
}
