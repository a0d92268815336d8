/** Abortable waits and jittered backoff, the one timing module of every side. */
import { describe, expect, it } from 'vitest'
import { backoffDelay, pause, sleep } from '../../protocol/timing.ts'

const LONG = 60_000

describe('sleep', () => {
  it('resolves after its time', async () => {
    await expect(sleep(1)).resolves.toBeUndefined()
  })

  it('rejects with the reason as soon as the signal aborts', async () => {
    const controller = new AbortController()
    const waiting = sleep(LONG, controller.signal)
    controller.abort(new Error('stopping'))
    await expect(waiting).rejects.toThrow('stopping')
  })

  it('rejects at once when the signal has already aborted', async () => {
    await expect(sleep(LONG, AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone')
  })
})

describe('pause', () => {
  it('resolves early, without an error, when the signal aborts', async () => {
    const controller = new AbortController()
    const waiting = pause(LONG, controller.signal)
    controller.abort(new Error('stopping'))
    await expect(waiting).resolves.toBeUndefined()
  })
})

describe('backoffDelay: equal jitter between half the step and the step', () => {
  const policy = { initialMs: 250, maxMs: 5_000 }
  const low = () => 0
  const high = () => 1

  it('doubles the step each attempt', () => {
    expect([1, 2, 3].map((attempt) => backoffDelay(policy, attempt, high))).toEqual([250, 500, 1000])
    expect([1, 2, 3].map((attempt) => backoffDelay(policy, attempt, low))).toEqual([125, 250, 500])
  })

  it('never exceeds the ceiling, however many attempts', () => {
    expect(backoffDelay(policy, 50, high)).toBe(5_000)
    expect(backoffDelay(policy, 50, low)).toBe(2_500)
  })

  it('grows by the policy multiplier', () => {
    expect(backoffDelay({ initialMs: 100, maxMs: 10_000, multiplier: 3 }, 3, high)).toBe(900)
  })

  it('stays within bounds for any random draw', () => {
    for (const draw of [0, 0.25, 0.5, 0.999]) {
      const delay = backoffDelay(policy, 3, () => draw)
      expect(delay).toBeGreaterThanOrEqual(500)
      expect(delay).toBeLessThanOrEqual(1000)
    }
  })
})
