/**
 * One query's records on their way to the edge: numbered in the order Serf streamed them, sent
 * in batches one at a time, and a failed batch sent again with the same indexes, so the edge
 * sees every record once and in order.
 */
import { EdgeProblemError } from '../protocol/problem.ts'
import type { QueryRecord, QueryState } from '../protocol/query.ts'
import { type BackoffPolicy, backoffDelay, sleep } from '../protocol/timing.ts'

export interface QueryRelayOptions {
  /** Posts one batch; resolves with the query's state at the edge. */
  send: (records: QueryRecord[]) => Promise<QueryState>
  /** Longest a record waits for others to join its batch (default 100 ms). */
  flushMs?: number
  /** Most records in one batch (default 50). */
  maxBatch?: number
  /** Waits between attempts at a batch the edge did not take (default 250 ms up to 5 s). */
  backoff?: BackoffPolicy
  /** Ends the retries; what is still unsent is given up. */
  signal: AbortSignal
  /** Called before each wait to send a batch again. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void
}

/** The edge ended the query (`failed`, `expired`) while records were on their way. */
export class QueryEndedError extends Error {
  override name = 'QueryEndedError'
  readonly state: QueryState
  constructor(state: QueryState) {
    super(`the edge ended the query as ${state}`)
    this.state = state
  }
}

/**
 * @example
 * const relay = new QueryRelay({ send: (records) => edge.queryRecords(id, { ..., records }), signal })
 * for await (const record of await serf.query(params)) relay.add(toWire(record))
 * await relay.finish()
 */
export class QueryRelay {
  readonly #o: Required<Omit<QueryRelayOptions, 'onRetry'>> & Pick<QueryRelayOptions, 'onRetry'>
  #queue: QueryRecord[] = []
  #nextIndex = 0
  #pumping: Promise<void> | undefined
  #wake: () => void = () => {}
  #failure: unknown
  #state: QueryState = 'running'

  constructor(options: QueryRelayOptions) {
    this.#o = { flushMs: 100, maxBatch: 50, backoff: { initialMs: 250, maxMs: 5_000 }, ...options }
  }

  /** Records added so far. */
  get added(): number {
    return this.#nextIndex
  }

  /** Queue `record` as the next one; dropped once the relay has failed. */
  add(record: Omit<QueryRecord, 'index'>): void {
    if (this.#failure !== undefined) return
    this.#queue.push({ index: this.#nextIndex++, ...record })
    this.#pumping ??= this.#pump()
    if (this.#batchReady) this.#wake()
  }

  /**
   * Resolves with the query's state at the edge once it has every record added.
   * @throws what stopped the relay: the edge's refusal, a {@link QueryEndedError}, or the signal's reason
   */
  async finish(): Promise<QueryState> {
    while (this.#pumping) await this.#pumping
    if (this.#failure !== undefined) throw this.#failure
    return this.#state
  }

  /** A batch goes at once when full or when it holds `done`; else it waits for more records. */
  get #batchReady(): boolean {
    return this.#queue.length >= this.#o.maxBatch || this.#queue.at(-1)?.type === 'done'
  }

  async #pump(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        if (!this.#batchReady) await this.#gather()
        const batch = this.#queue.slice(0, this.#o.maxBatch)
        await this.#deliver(batch)
        this.#queue.splice(0, batch.length)
      }
    } catch (error) {
      this.#failure = error
      this.#queue = []
    } finally {
      // Cleared in the same step that saw the queue empty, so the next `add` starts a new pump.
      this.#pumping = undefined
    }
  }

  #gather(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wake(), this.#o.flushMs)
      this.#wake = () => {
        clearTimeout(timer)
        this.#wake = () => {}
        resolve()
      }
    })
  }

  async #deliver(batch: QueryRecord[]): Promise<void> {
    const { send, backoff, signal, onRetry } = this.#o
    for (let attempt = 1; ; attempt++) {
      try {
        this.#state = await send(batch)
        if (this.#state === 'failed' || this.#state === 'expired') throw new QueryEndedError(this.#state)
        return
      } catch (error) {
        if (signal.aborted || !retryable(error)) throw error
        const delayMs = backoffDelay(backoff, attempt)
        onRetry?.({ attempt, delayMs, error })
        await sleep(delayMs, signal)
      }
    }
  }
}

/** The edge may take the batch later: it was unreachable, or failed (5xx) or was busy (429). */
function retryable(error: unknown): boolean {
  if (error instanceof QueryEndedError) return false
  return !(error instanceof EdgeProblemError) || error.retryable
}
