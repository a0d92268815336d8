/**
 * The pacer's rules on a clock the test moves: the rate cap without catch-up bursts, waiting for
 * the agent's broadcast queue to drain (only when someone can drain it), halving the rate while
 * the agent answers slowly, and stopping on abort. The agent is a script of `stats` answers.
 */
import { describe, expect, it } from 'vitest'
import { type AgentSample, Pacer, type PacerOptions } from '../../agent-bridge/pacer.ts'
import type { Clock } from '../../protocol/timing.ts'

/** Virtual time: a sleep moves the clock instead of waiting. */
class VirtualClock implements Clock {
  t = 1_000
  now = () => this.t
  sleep = async (ms: number, signal?: AbortSignal) => {
    signal?.throwIfAborted()
    this.t += ms
  }
}

/** One `stats` answer and how long the agent takes to give it. */
interface Step {
  sample: AgentSample
  takesMs?: number
  /** Run as the answer is given (e.g. abort the caller). */
  meanwhile?: () => void
}

const calm: AgentSample = { eventQueue: 0, members: 3 }

/** The agent: answers from `script` in turn, the last one again once the script runs out. */
function scriptedAgent(clock: VirtualClock, script: Step[]) {
  const asked: number[] = []
  const probe = {
    async sample() {
      const step = script[Math.min(asked.length, script.length - 1)]!
      asked.push(clock.now())
      clock.t += step.takesMs ?? 0
      step.meanwhile?.()
      return step.sample
    },
  }
  return { probe, asked }
}

function pacerWith(script: Step[], options: Omit<PacerOptions, 'clock'> = {}) {
  const clock = new VirtualClock()
  const agent = scriptedAgent(clock, script)
  const waits: number[] = []
  const pacer = new Pacer(agent.probe, { onWait: (ms) => waits.push(ms), ...options, clock })
  /** Admit `n` events; the clock reading as each was let through. */
  async function admit(n: number, signal?: AbortSignal) {
    const at: number[] = []
    for (let i = 0; i < n; i++) {
      await pacer.admit(signal)
      at.push(clock.now())
    }
    return at
  }
  return { pacer, clock, asked: agent.asked, waits, admit }
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!)

describe('the rate cap', () => {
  it('spaces events at 1/rate once the few slots owed at the start are used', async () => {
    const { admit } = pacerWith([{ sample: calm }], { maxRate: 25, sampleEveryMs: 60_000 })
    const at = await admit(12)
    // The current slot and four missed ones (a fresh pacer has missed them all), then one
    // every 40 ms.
    expect(at.slice(0, 5)).toEqual(Array(5).fill(1_000))
    expect(gaps(at.slice(4))).toEqual(Array(7).fill(40))
  })

  it('owes no catch-up burst after idling', async () => {
    const { admit, clock } = pacerWith([{ sample: calm }], { maxRate: 10, sampleEveryMs: 60_000 })
    await admit(20)
    clock.t += 60_000
    const start = clock.now()
    const at = await admit(10)
    expect(at.filter((t) => t === start)).toHaveLength(5)
    expect(gaps(at.slice(4))).toEqual(Array(5).fill(100))
  })

  it('maxRate 0 means no cap', async () => {
    const { admit, pacer, clock, waits } = pacerWith([{ sample: calm }], { maxRate: 0, maxQueue: 1_000 })
    const start = clock.now()
    const at = await admit(500)
    expect(at.every((t) => t === start)).toBe(true)
    expect(pacer.rate).toBe(Number.POSITIVE_INFINITY)
    expect(waits).toEqual([])
  })
})

describe("the agent's broadcast queue", () => {
  it('waits while queue plus events sent since the last read reach maxQueue, until it drains to resumeAt', async () => {
    const script: Step[] = [
      { sample: { eventQueue: 1, members: 3 } },
      { sample: { eventQueue: 5, members: 3 } },
      { sample: { eventQueue: 3, members: 3 } },
      { sample: { eventQueue: 2, members: 3 } },
    ]
    const { admit, asked, waits } = pacerWith(script, {
      maxRate: 0,
      maxQueue: 4,
      resumeAt: 2,
      probeIntervalMs: 20,
    })
    // The first read sees 1 queued; three more sent make 4 = maxQueue, so the fourth waits.
    const at = await admit(4)
    expect(at).toEqual([1_000, 1_000, 1_000, 1_040])
    expect(asked).toEqual([1_000, 1_000, 1_020, 1_040])
    expect(waits).toEqual([40])
  })

  it('does not wait for a drain when no other member is alive to gossip to', async () => {
    const lonely = [
      { eventQueue: 500, members: 1 },
      { eventQueue: 500, members: 3, failed: 1, left: 1 },
    ]
    for (const sample of lonely) {
      const { admit, asked, waits, clock } = pacerWith([{ sample }], { maxRate: 0, maxQueue: 4 })
      const at = await admit(50)
      expect(at.every((t) => t === clock.now())).toBe(true)
      expect(asked).toHaveLength(1)
      expect(waits).toEqual([])
    }
  })
})

describe('a slow agent', () => {
  it('halves the rate on a slow stats answer, holds the next event back, then recovers gradually', async () => {
    const script: Step[] = [{ sample: calm, takesMs: 300 }, { sample: calm }]
    const { admit, pacer } = pacerWith(script, { maxRate: 20, slowAgentMs: 250, sampleEveryMs: 0 })
    const first = await admit(1)
    expect(pacer.rate).toBe(10)
    // The next slot starts after the slow answer, plus a gap at the halved rate.
    const [second] = await admit(1)
    expect(second! - first[0]!).toBeGreaterThanOrEqual(300)
    const rates: number[] = []
    for (let i = 0; i < 10; i++) {
      await admit(1)
      rates.push(pacer.rate)
    }
    expect(rates[0]).toBeCloseTo(11.5 * 1.1 + 0.5)
    for (const [k, rate] of rates.entries()) {
      const before = k === 0 ? 11.5 : rates[k - 1]!
      expect(rate).toBeGreaterThanOrEqual(before)
      expect(rate).toBeLessThanOrEqual(before * 1.1 + 0.5)
    }
    expect(rates.at(-1)).toBe(20)
  })

  it('halves from 1000/s when there is no cap', async () => {
    const { admit, pacer } = pacerWith([{ sample: calm, takesMs: 400 }], { maxRate: 0 })
    await admit(1)
    expect(pacer.rate).toBe(500)
  })
})

describe('abort', () => {
  it('rejects a wait for the queue to drain with the signal reason', async () => {
    const controller = new AbortController()
    const reason = new Error('bridge stopping')
    const full = { eventQueue: 40, members: 3 }
    const script: Step[] = [
      { sample: full },
      { sample: full },
      { sample: full, meanwhile: () => controller.abort(reason) },
    ]
    const { pacer } = pacerWith(script, { maxRate: 0, maxQueue: 32 })
    await expect(pacer.admit(controller.signal)).rejects.toBe(reason)
  })

  it('rejects a wait for the next rate slot with the signal reason', async () => {
    const { admit, pacer } = pacerWith([{ sample: calm }], { maxRate: 1, sampleEveryMs: 60_000 })
    await admit(5)
    const reason = new Error('stop now')
    await expect(pacer.admit(AbortSignal.abort(reason))).rejects.toBe(reason)
  })
})
