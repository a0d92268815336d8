/**
 * The bridge's own view of its lease: it lapses by the local monotonic clock, counted from when
 * the renewing call was sent, less a safety margin; never by the edge's wall-clock `expiresAt`.
 */
import { describe, expect, it } from 'vitest'
import { HeldLease, safetyMarginMs } from '../../agent-bridge/held-lease.ts'
import type { Clock } from '../../protocol/timing.ts'
import type { Lease } from '../../protocol/wire.ts'

/** A clock that moves only when the test says so. */
function manualClock(start = 10_000) {
  let now = start
  const clock: Clock = { now: () => now, sleep: async () => {} }
  return { clock, at: (t: number) => (now = t) }
}

const lease = (token: number, ttlMs = 30_000): Lease => ({
  token,
  bridgeId: 'a',
  // Deliberately far in the past: the edge's wall clock plays no part.
  expiresAt: '2001-01-01T00:00:00.000Z',
  ttlMs,
})

describe('the safety margin', () => {
  it.each([
    [60_000, 6_000],
    [30_000, 3_000],
    [6_000, 2_000],
    [3_000, 1_500],
    [1_000, 500],
  ])('for a TTL of %i ms is %i ms: 10 %%, at least 2 s, at most half the TTL', (ttl, margin) => {
    expect(safetyMarginMs(ttl)).toBe(margin)
  })
})

describe('a lease granted by a poll', () => {
  it('lapses TTL less the margin after the poll was sent, however late the answer came', () => {
    const { clock, at } = manualClock()
    const held = new HeldLease(clock)
    expect(held.lapsed).toBe(true)
    at(10_000 + 20_000)
    expect(held.granted(lease(1), 10_000)).toBe('acquired')
    at(10_000 + 26_999)
    expect(held.lapsed).toBe(false)
    at(10_000 + 27_000)
    expect(held.lapsed).toBe(true)
  })

  it('is not trusted from an answer that arrived after it would have lapsed', () => {
    const { clock, at } = manualClock()
    const held = new HeldLease(clock)
    held.granted(lease(1), 10_000)
    at(10_000 + 40_000)
    expect(held.granted(lease(1), 12_000)).toBe('stale')
    expect(held.granted(lease(2), 12_000)).toBe('stale')
    expect(held.current?.token).toBe(1)
    expect(held.lapsed).toBe(true)
  })

  it('is renewed by a later poll with the same token', () => {
    const { clock, at } = manualClock()
    const held = new HeldLease(clock)
    held.granted(lease(1), 10_000)
    expect(held.granted(lease(1), 25_000)).toBe('renewed')
    at(25_000 + 26_999)
    expect(held.lapsed).toBe(false)
  })

  it('is not shortened by an older answer arriving late', () => {
    const { clock, at } = manualClock()
    const held = new HeldLease(clock)
    held.granted(lease(1), 25_000)
    held.granted(lease(1), 10_000)
    at(25_000 + 26_999)
    expect(held.lapsed).toBe(false)
  })

  it('counts from the new grant alone when the token changed hands', () => {
    const { clock, at } = manualClock()
    const held = new HeldLease(clock)
    held.granted(lease(1), 25_000)
    expect(held.granted(lease(2), 10_000)).toBe('acquired')
    expect(held.current?.token).toBe(2)
    at(10_000 + 27_000)
    expect(held.lapsed).toBe(true)
  })
})

describe('an accepted ack', () => {
  it('renews the lease it carried the token of', () => {
    const { clock, at } = manualClock()
    const held = new HeldLease(clock)
    held.granted(lease(3), 10_000)
    held.renewed(3, 20_000)
    at(20_000 + 26_999)
    expect(held.lapsed).toBe(false)
  })

  it('does nothing for another token', () => {
    const { clock, at } = manualClock()
    const held = new HeldLease(clock)
    held.granted(lease(3), 10_000)
    held.renewed(2, 20_000)
    at(10_000 + 27_000)
    expect(held.lapsed).toBe(true)
  })
})

describe('the wait of the next poll', () => {
  it('leaves half the trusted span to emit what it brings, and at most the longest wait', () => {
    const { clock } = manualClock()
    const held = new HeldLease(clock)
    expect(held.pollWaitMs(25_000)).toBe(0)
    held.granted(lease(1, 60_000), 10_000)
    expect(held.pollWaitMs(25_000)).toBe(25_000)
    held.granted(lease(2, 6_000), 10_000)
    expect(held.pollWaitMs(25_000)).toBe(2_000)
    held.granted(lease(3, 3_000), 10_000)
    expect(held.pollWaitMs(25_000)).toBe(750)
  })
})

it('a dropped lease is lapsed and gone', () => {
  const { clock } = manualClock()
  const held = new HeldLease(clock)
  held.granted(lease(1), 10_000)
  held.drop()
  expect(held.current).toBeNull()
  expect(held.lapsed).toBe(true)
})
