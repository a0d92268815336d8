/** The bridge's rate while it had work queued, apart from the edge's intake (bench/queued-rate.ts). */
import { describe, expect, it } from 'vitest'
import { queuedDelivery } from '../../bench/queued-rate.ts'

describe('the delivery rate while work was queued', () => {
  it('is the whole run for a backlog queued before the bridge started', () => {
    const accepted = Array(100).fill(0)
    const arrived = accepted.map((_, i) => 1_000 + (i + 1) * 50)
    const q = queuedDelivery(accepted, arrived, 1_000, 1)
    expect(q).toMatchObject({ delivered: 100, seconds: 5, rate: 20, stretches: 1, share: 1 })
  })

  it('leaves out the time the bridge waited for the intake', () => {
    // 10 events queued at 0 and delivered at 100/s; then the intake trickles one every second,
    // each delivered 10 ms later: only the first stretch counts, at the bridge's rate.
    const accepted = [...Array(10).fill(0), ...Array.from({ length: 5 }, (_, i) => 1_000 * (i + 1))]
    const arrived = [
      ...Array.from({ length: 10 }, (_, i) => (i + 1) * 10),
      ...Array.from({ length: 5 }, (_, i) => 1_000 * (i + 1) + 10),
    ]
    const q = queuedDelivery(accepted, arrived, 0, 2)
    expect(q.stretches).toBe(1)
    expect(q.seconds).toBeCloseTo(0.09, 9)
    expect(q.delivered).toBe(9)
    expect(q.rate).toBeCloseTo(100, 6)
    expect(q.share).toBeCloseTo(0.09 / 5.01, 9)
  })

  it('starts counting at the bridge, not at the first acceptance', () => {
    const accepted = Array(10).fill(0)
    const arrived = accepted.map((_, i) => 2_000 + (i + 1) * 100)
    const q = queuedDelivery(accepted, arrived, 1_000, 1)
    // The bridge's start-up (1 s) counts against it: 10 events in 2 s.
    expect(q).toMatchObject({ delivered: 10, seconds: 2, rate: 5 })
  })

  it('ends at the last arrival when events never arrive', () => {
    const q = queuedDelivery([0, 0, 0], [500, 1_000, undefined], 0, 1)
    expect(q).toMatchObject({ delivered: 2, seconds: 1, rate: 2, stretches: 1 })
  })
})
