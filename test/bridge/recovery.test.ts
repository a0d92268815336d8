/**
 * The delivery loop's decision after a failed cycle, as a table: which errors stand the bridge
 * by, reconnect it to Serf, back it off (and how long), or stop it with a message for the
 * operator.
 */
import { describe, expect, it } from 'vitest'
import { BridgeFatalError } from '../../agent-bridge/agent-link.ts'
import { type Recovery, recoveryFor } from '../../agent-bridge/recovery.ts'
import { SerfConnectionError, SerfRemoteError, SerfTimeoutError } from '../../agent-bridge/serf-rpc.ts'
import { SERF_ERRORS } from '../../agent-bridge/serf-rpc-wire.ts'
import {
  EdgeProblemError,
  EdgeUnreachableError,
  PROBLEMS,
  type ProblemType,
  problemTypeUri,
} from '../../protocol/problem.ts'

const policy = { initialMs: 500, maxMs: 30_000 }
const half = () => 0.5

function problem(slug: ProblemType, extensions: Record<string, unknown> = {}) {
  const { status, title } = PROBLEMS[slug]
  return new EdgeProblemError({ type: problemTypeUri(slug), title, status, detail: `detail of ${slug}`, ...extensions })
}

const httpStatus = (status: number, title: string) =>
  new EdgeProblemError({ type: 'about:blank', title, status, detail: 'from a proxy' })

const unreachable = new EdgeUnreachableError(
  'http://127.0.0.1:1/v1/clusters/main/bridge/poll',
  1,
  new Error('ECONNREFUSED'),
)

describe('another bridge holds the lease', () => {
  it.each([
    ['as long as the edge says the lease has left', { holder: 'b-1', retryAfterMs: 3_200 }, 'b-1', 3_200],
    ['5 s when the edge names no wait', { holder: 'b-1' }, 'b-1', 5_000],
    ['at least 250 ms', { holder: 'b-1', retryAfterMs: 10 }, 'b-1', 250],
    ['at most 10 s', { holder: 'b-1', retryAfterMs: 60_000 }, 'b-1', 10_000],
    ['5 s for a wait that is not a number', { holder: 'b-1', retryAfterMs: 'soon' }, 'b-1', 5_000],
    ['naming "another bridge" when the edge names none', { retryAfterMs: 1_000 }, 'another bridge', 1_000],
  ])('stands by %s', (_, extensions, holder, delayMs) => {
    expect(recoveryFor(problem('lease-held', extensions), 0, policy)).toEqual({ kind: 'standby', holder, delayMs })
  })

  it('is matched by the problem slug, not by how the type URI ends', () => {
    const lookalike = new EdgeProblemError({ type: 'https://proxy.example/errors:lease-held', title: 'x', status: 409 })
    expect(recoveryFor(lookalike, 0, policy).kind).toBe('fatal')
  })
})

describe('the edge refuses the bridge for good', () => {
  it.each<[string, EdgeProblemError, RegExp]>([
    [
      '401 names the key to check',
      problem('unauthenticated'),
      /^the edge refused this bridge \(401 Request not authenticated\): detail of unauthenticated\. Check -bridge-key against the edge's BRIDGE_KEYS_<CLUSTER> secret\.$/,
    ],
    [
      '403 names the key to check',
      problem('forbidden'),
      /^the edge refused this bridge \(403 Outside the sender's scope\): .*Check -bridge-key/,
    ],
    [
      'another 4xx says which call was refused',
      problem('unknown-cluster'),
      /^the edge refused a bridge call \(404 Unknown cluster\): detail of unknown-cluster$/,
    ],
    [
      'a 4xx without a problem body too',
      httpStatus(400, 'Bad Request'),
      /^the edge refused a bridge call \(400 Bad Request\): from a proxy$/,
    ],
  ])('%s', (_, error, message) => {
    const next = recoveryFor(error, 0, policy)
    expect(next.kind).toBe('fatal')
    const fatal = (next as Extract<Recovery, { kind: 'fatal' }>).error
    expect(fatal).toBeInstanceOf(BridgeFatalError)
    expect(fatal.message).toMatch(message)
    expect(fatal.cause).toBe(error)
  })
})

describe('edge failures that may pass back off, with equal jitter', () => {
  it.each<[string, unknown, number, () => number, Omit<Extract<Recovery, { kind: 'backoff' }>, 'kind'>]>([
    [
      'unreachable, first failure',
      unreachable,
      0,
      half,
      { attempt: 1, delayMs: 375, metricKind: 'unreachable', reason: unreachable.message },
    ],
    [
      '429, fourth in a row, least jitter',
      problem('queue-full'),
      3,
      () => 0,
      {
        attempt: 4,
        delayMs: 2_000,
        metricKind: 'http_429',
        reason: '429 Cluster queue is full: detail of queue-full',
      },
    ],
    [
      '502 from a proxy, most jitter',
      httpStatus(502, 'Bad Gateway'),
      3,
      () => 1,
      {
        attempt: 4,
        delayMs: 4_000,
        metricKind: 'http_502',
        reason: '502 Bad Gateway: from a proxy',
      },
    ],
    [
      '500 after many, capped',
      problem('internal'),
      20,
      half,
      {
        attempt: 21,
        delayMs: 22_500,
        metricKind: 'http_500',
        reason: '500 Internal error: detail of internal',
      },
    ],
    [
      'an unknown error',
      new TypeError('boom'),
      0,
      half,
      { attempt: 1, delayMs: 375, metricKind: 'other', reason: 'boom' },
    ],
    [
      'something thrown that is not an Error',
      'weird',
      1,
      half,
      {
        attempt: 2,
        delayMs: 750,
        metricKind: 'other',
        reason: 'weird',
      },
    ],
  ])('%s', (_, error, failures, random, expected) => {
    expect(recoveryFor(error, failures, policy, random)).toEqual({ kind: 'backoff', ...expected })
  })
})

describe('the Serf agent', () => {
  it.each([
    ['a dropped connection', new SerfConnectionError('connection reset by the agent')],
    ['a request timeout', new SerfTimeoutError('stats timed out after 10000 ms')],
  ])('reconnects after %s', (_, error) => {
    expect(recoveryFor(error, 5, policy)).toEqual({ kind: 'reconnect', reason: error.message })
  })

  it('stops the bridge when the agent refuses its RPC token', () => {
    const error = new SerfRemoteError('stats', SERF_ERRORS.invalidAuthToken)
    const next = recoveryFor(error, 0, policy) as Extract<Recovery, { kind: 'fatal' }>
    expect(next.kind).toBe('fatal')
    expect(next.error.message).toBe(
      'the Serf agent refused the bridge: Invalid authentication token (check -rpc-auth / SERF_RPC_AUTH)',
    )
    expect(next.error.cause).toBe(error)
  })
})

it('passes a BridgeFatalError through unchanged', () => {
  const error = new BridgeFatalError('the Serf agent at 127.0.0.1:7373 refused the RPC connection')
  expect(recoveryFor(error, 0, policy)).toEqual({ kind: 'fatal', error })
  expect((recoveryFor(error, 0, policy) as { error: Error }).error).toBe(error)
})
