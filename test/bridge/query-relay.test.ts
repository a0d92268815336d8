/**
 * The relay of one query's records to the edge, in-process with its `send` in hand: numbered in
 * order, batched, one batch at a time, a failed batch sent again with the same indexes, given up
 * on a refusal, on a query the edge ended, or on stop.
 */
import { describe, expect, it } from 'vitest'
import { QueryEndedError, QueryRelay, type QueryRelayOptions } from '../../agent-bridge/query-relay.ts'
import { EdgeProblemError, EdgeUnreachableError } from '../../protocol/problem.ts'
import type { QueryRecord, QueryState } from '../../protocol/query.ts'
import { waitFor } from '../helpers/serf-agent.ts'

const at = '2026-01-01T00:00:00.000Z'
const ack = (from: string) => ({ type: 'ack' as const, from, at })
const response = (from: string) => ({ type: 'response' as const, from, payloadBase64: btoa(from), at })
const done = { type: 'done' as const, at }

const problem = (status: number, slug: string) =>
  new EdgeProblemError({ type: `urn:serf-edge:problem:${slug}`, title: slug, status, detail: 'test' })

/** A relay whose batches land in `batches`; `answer` decides each attempt's outcome. */
function relayWith(
  answer: (batch: QueryRecord[], attempt: number) => Promise<QueryState> | QueryState = () => 'running',
  options: Partial<QueryRelayOptions> = {},
) {
  const batches: QueryRecord[][] = []
  let inFlight = 0
  let mostInFlight = 0
  const relay = new QueryRelay({
    flushMs: 30,
    maxBatch: 3,
    backoff: { initialMs: 5, maxMs: 20 },
    signal: new AbortController().signal,
    ...options,
    send: async (batch) => {
      batches.push(batch)
      mostInFlight = Math.max(mostInFlight, ++inFlight)
      try {
        return await answer(batch, batches.length)
      } finally {
        inFlight--
      }
    },
  })
  return { relay, batches, mostInFlight: () => mostInFlight }
}

const indexes = (batches: QueryRecord[][]) => batches.map((batch) => batch.map((r) => r.index))

describe('order and batching', () => {
  it('numbers records from 0 in the order added and ends with done, one batch in flight at a time', async () => {
    const { relay, batches, mostInFlight } = relayWith(async (batch) => {
      await new Promise((resolve) => setTimeout(resolve, 10))
      return batch.at(-1)?.type === 'done' ? 'done' : 'running'
    })
    for (const node of ['a', 'b', 'c', 'd']) relay.add(ack(node))
    for (const node of ['a', 'b', 'c', 'd']) relay.add(response(node))
    relay.add(done)
    expect(await relay.finish()).toBe('done')
    expect(batches.flat().map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    expect(batches.flat().map((r) => `${r.type}:${r.from ?? ''}`)).toEqual([
      'ack:a',
      'ack:b',
      'ack:c',
      'ack:d',
      'response:a',
      'response:b',
      'response:c',
      'response:d',
      'done:',
    ])
    expect(batches.every((batch) => batch.length <= 3)).toBe(true)
    expect(mostInFlight()).toBe(1)
  })

  it('a record waits up to flushMs for others to join its batch', async () => {
    const { relay, batches } = relayWith()
    const started = performance.now()
    relay.add(ack('a'))
    relay.add(ack('b'))
    await waitFor(() => batches.length === 1, { intervalMs: 5 })
    expect(performance.now() - started).toBeGreaterThanOrEqual(25)
    expect(indexes(batches)).toEqual([[0, 1]])
    relay.add(done)
    await relay.finish()
    expect(indexes(batches)).toEqual([[0, 1], [2]])
  })

  it('a full batch, or one ending with done, goes without waiting', async () => {
    const { relay, batches } = relayWith()
    const started = performance.now()
    relay.add(done)
    await relay.finish()
    expect(performance.now() - started).toBeLessThan(25)
    expect(indexes(batches)).toEqual([[0]])
  })
})

describe('edge failures', () => {
  it('sends a batch the edge did not take again with the same indexes', async () => {
    const failures = [new EdgeUnreachableError('http://edge', 1, new Error('ECONNREFUSED')), problem(503, 'internal')]
    const retries: number[] = []
    const { relay, batches } = relayWith(
      (_, attempt) => {
        const failure = failures[attempt - 1]
        if (failure) throw failure
        return 'running'
      },
      { onRetry: ({ attempt }) => retries.push(attempt) },
    )
    relay.add(ack('a'))
    relay.add(response('a'))
    relay.add(done)
    expect(await relay.finish()).toBe('running')
    expect(indexes(batches)).toEqual([
      [0, 1, 2],
      [0, 1, 2],
      [0, 1, 2],
    ])
    expect(retries).toEqual([1, 2])
  })

  it('gives up on a refusal: finish rejects with it, later records are dropped', async () => {
    const refusal = problem(422, 'invalid-request')
    const { relay, batches } = relayWith(() => {
      throw refusal
    })
    relay.add(response('a'))
    relay.add(response('b'))
    relay.add(done)
    await expect(relay.finish()).rejects.toBe(refusal)
    relay.add(done)
    await expect(relay.finish()).rejects.toBe(refusal)
    expect(batches).toHaveLength(1)
  })

  it('stops when the edge answers that the query has ended', async () => {
    const { relay, batches } = relayWith(() => 'failed')
    relay.add(ack('a'))
    relay.add(done)
    const error = await relay.finish().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(QueryEndedError)
    expect(error).toMatchObject({ state: 'failed' })
    expect(batches).toHaveLength(1)
  })

  it('stops retrying when its signal aborts', async () => {
    const stop = new AbortController()
    const { relay, batches } = relayWith(
      () => {
        throw problem(503, 'internal')
      },
      { signal: stop.signal, backoff: { initialMs: 60_000, maxMs: 60_000 } },
    )
    relay.add(done)
    await waitFor(() => batches.length === 1, { intervalMs: 5 })
    stop.abort(new Error('bridge stopping'))
    await expect(relay.finish()).rejects.toThrow('bridge stopping')
    expect(batches).toHaveLength(1)
  })
})
