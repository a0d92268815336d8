/**
 * The query loop, beside the delivery loop and never waiting on it: while this bridge holds the
 * lease, long-poll the edge for queries, run each with Serf's `query` RPC on a sequence number of
 * its own, and relay its records as Serf streams them, ending with `done`.
 *
 * A query Serf refuses, or whose agent connection drops before `done`, is left unfinished at
 * the edge, which ends it as failed; it is never run twice, since its handlers may not be
 * idempotent.
 */
import type { Logger } from 'pino'
import { fromBase64, toBase64, utf8 } from '../protocol/bytes.ts'
import { EdgeProblemError } from '../protocol/problem.ts'
import type { QueryRecord, QueryTask } from '../protocol/query.ts'
import { type BackoffPolicy, backoffDelay, pause } from '../protocol/timing.ts'
import { MAX_POLL_WAIT_MS } from '../protocol/wire.ts'
import type { EdgeClient } from './edge-client.ts'
import { type BridgeMetrics, edgeErrorKind } from './metrics.ts'
import { QueryEndedError, QueryRelay } from './query-relay.ts'
import { type SerfQueryRecord, SerfRemoteError, type SerfRpcClient } from './serf-rpc.ts'

export interface QueryRunnerParts {
  bridgeId: string
  edge: EdgeClient
  /** The delivery loop's client: queries share its connection and its reconnects. */
  serf: SerfRpcClient
  /** The lease token the delivery loop holds, or null while it stands by. */
  leaseToken: () => number | null
  logger: Logger
  metrics: BridgeMetrics
  /** Long-poll wait (default and most 25 s). */
  pollWaitMs?: number
  /** Backoff after failed polls (defaults 500 ms, 30 s). */
  backoff?: BackoffPolicy
  /** Batching of records: longest wait and most records per batch (defaults 100 ms, 50). */
  relay?: { flushMs?: number; maxBatch?: number }
  /** How long `stop()` lets running queries reach `done` and relay it (default 10 s). */
  stopGraceMs?: number
}

export class QueryRunner {
  readonly #p: QueryRunnerParts
  /** Ends the polling. */
  readonly #polling = new AbortController()
  /** Ends the waits and retries of running queries. */
  readonly #relaying = new AbortController()
  readonly #running = new Map<string, Promise<void>>()
  #loop: Promise<void> | undefined

  constructor(parts: QueryRunnerParts) {
    this.#p = parts
  }

  /** Start polling; queries run until {@link stop}. */
  start(): void {
    this.#loop ??= this.#pollLoop()
  }

  /**
   * Stop polling and let running queries reach `done` and relay it, within the grace. One still
   * running after it relays no more; it ends when the Serf connection closes.
   */
  async stop(): Promise<void> {
    this.#polling.abort()
    // The poll is aborted with the signal; a slow agent must not hold the shutdown up beyond that.
    const bound = new AbortController()
    await Promise.race([this.#loop, pause(2_000, bound.signal)])
    bound.abort()
    if (this.#running.size > 0) {
      const allEnded = new AbortController()
      void Promise.allSettled(this.#running.values()).then(() => allEnded.abort())
      await pause(this.#p.stopGraceMs ?? 10_000, allEnded.signal)
      if (!allEnded.signal.aborted) {
        this.#p.logger.warn(
          { queries: [...this.#running.keys()] },
          'queries still running at stop; the edge ends them as failed',
        )
      }
    }
    this.#relaying.abort()
  }

  async #pollLoop(): Promise<void> {
    const { edge, serf, bridgeId } = this.#p
    const signal = this.#polling.signal
    let failures = 0
    while (!signal.aborted) {
      const leaseToken = this.#p.leaseToken()
      // Without the lease the queries are another bridge's; without the agent they cannot run.
      if (leaseToken === null || !serf.connected) {
        await pause(250, signal)
        continue
      }
      try {
        const waitMs = Math.min(this.#p.pollWaitMs ?? MAX_POLL_WAIT_MS, MAX_POLL_WAIT_MS)
        const { queries } = await edge.pollQueries({ bridgeId, leaseToken, waitMs }, signal)
        failures = 0
        for (const task of queries) this.#launch(task, leaseToken)
      } catch (error) {
        if (signal.aborted) return
        await pause(this.#retryDelay(error, ++failures), signal)
      }
    }
  }

  /** How long to wait after the `failures`-th failed poll in a row, logged and counted. */
  #retryDelay(error: unknown, failures: number): number {
    const { logger, metrics } = this.#p
    // The lease changed under the delivery loop, which learns it on its next call: ask again soon.
    if (error instanceof EdgeProblemError && (error.is('lease-lost') || error.is('lease-held'))) {
      logger.debug({ problem: error.slug }, 'the edge knows another lease; polling for queries again shortly')
      return 1_000
    }
    metrics.edgeErrors.inc({ kind: edgeErrorKind(error) })
    const err = (error as Error).message
    // An edge without queries (an older one) or a refused key: asking often cannot help.
    if (error instanceof EdgeProblemError && !error.retryable) {
      const level = error.is('not-found') ? 'info' : 'warn'
      logger[level]({ err, retryInMs: 60_000 }, 'the edge refused to hand over queries')
      return 60_000
    }
    const delayMs = backoffDelay(this.#p.backoff ?? { initialMs: 500, maxMs: 30_000 }, failures)
    logger.warn({ err, retryInMs: delayMs }, 'polling for queries failed; backing off')
    return delayMs
  }

  /** The edge hands each query over once (it is `running` from then on): run it beside the others. */
  #launch(task: QueryTask, leaseToken: number): void {
    const run = this.#run(task, leaseToken).finally(() => this.#running.delete(task.id))
    this.#running.set(task.id, run)
  }

  /** Run one query and relay its records; never rejects. */
  async #run(task: QueryTask, handedUnder: number): Promise<void> {
    const { edge, bridgeId, metrics } = this.#p
    const logger = this.#p.logger.child({ queryId: task.id, query: task.name })
    const relay = new QueryRelay({
      ...this.#p.relay,
      signal: this.#relaying.signal,
      send: async (records) => {
        const leaseToken = this.#p.leaseToken() ?? handedUnder
        const state = await edge.queryRecords(task.id, { bridgeId, leaseToken, records }, this.#relaying.signal)
        for (const record of records) metrics.queryRecords.inc({ type: record.type })
        return state
      },
      onRetry: ({ attempt, delayMs, error }) =>
        logger.warn(
          { attempt, retryInMs: delayMs, err: (error as Error).message },
          'relaying query records failed; retrying',
        ),
    })
    const startedAt = performance.now()
    metrics.queriesRunning.inc()
    const outcome = await this.#stream(task, relay, logger).catch((error: unknown) => {
      logger.warn({ err: (error as Error).message, relayed: relay.added }, 'query failed')
      return 'failed' as const
    })
    metrics.queriesRunning.dec()
    metrics.queries.inc({ outcome })
    if (outcome === 'done') logger.info({ tookMs: Math.round(performance.now() - startedAt) }, 'query done')
  }

  /** Start the query in Serf and relay every record until `done` is at the edge. */
  async #stream(task: QueryTask, relay: QueryRelay, logger: Logger): Promise<'done' | 'refused'> {
    let records: AsyncIterable<SerfQueryRecord>
    try {
      records = await this.#p.serf.query({
        name: task.name,
        payload: fromBase64(task.payloadBase64),
        filterNodes: task.nodes,
        filterTags: task.tags,
        requestAck: task.requestAck,
        relayFactor: task.relayFactor,
        timeoutMs: task.timeoutMs,
      })
    } catch (error) {
      if (!(error instanceof SerfRemoteError)) throw error
      logger.warn({ serfError: error.message }, 'Serf refused a query')
      // The edge fails the query at once with Serf's own text, not at its deadline.
      relay.add({ type: 'error', payloadBase64: toBase64(utf8(error.message)), at: new Date().toISOString() })
      await relay.finish().catch((ended: unknown) => {
        if (!(ended instanceof QueryEndedError && ended.state === 'failed')) throw ended
      })
      return 'refused'
    }
    logger.info(
      { nodes: task.nodes, tags: task.tags, timeoutMs: task.timeoutMs, requestAck: task.requestAck },
      'query started',
    )
    const counts = { ack: 0, response: 0, done: 0 }
    try {
      for await (const record of records) {
        counts[record.type]++
        relay.add(toWireRecord(record))
      }
    } finally {
      // What Serf streamed before a lost connection still reaches the edge.
      await relay.finish().catch((error: unknown) => {
        logger.warn({ err: (error as Error).message }, 'the edge did not take the query records; gave them up')
        if (counts.done > 0) throw error
      })
    }
    logger.debug({ acks: counts.ack, responses: counts.response }, 'query records relayed')
    return 'done'
  }
}

/** A Serf record as the edge takes it, stamped with when the bridge saw it. */
function toWireRecord({ type, from, payload }: SerfQueryRecord): Omit<QueryRecord, 'index'> {
  return {
    type,
    ...(from ? { from } : {}),
    ...(payload.length > 0 ? { payloadBase64: toBase64(payload) } : {}),
    at: new Date().toISOString(),
  }
}
