/**
 * The pacer's rules on a clock the test moves: the pace the cluster allows (profile, members,
 * event size) or the operator's `maxRate` instead, without catch-up bursts; waiting for the
 * agent's broadcast queue to drain (only when someone can drain it); halving the rate while the
 * agent answers slowly; stopping on abort. The agent is a script of `stats` answers.
 */
import { describe, expect, it } from 'vitest'
import {
  type AgentSample,
  type Backoff,
  type PaceChange,
  Pacer,
  type PacerOptions,
  paceMessage,
} from '../../agent-bridge/pacer.ts'
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
/** Encoded size of a small event (`deploy` and a short payload). */
const SMALL = 50

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
  const paces: PaceChange[] = []
  const pacer = new Pacer(agent.probe, {
    onWait: (ms) => waits.push(ms),
    onPace: (change) => paces.push(change),
    ...options,
    clock,
  })
  /** Admit `n` events of `bytes` encoded; the clock reading as each was let through. */
  async function admit(n: number, signal?: AbortSignal, bytes = SMALL) {
    const at: number[] = []
    for (let i = 0; i < n; i++) {
      await pacer.admit(bytes, signal)
      at.push(clock.now())
    }
    return at
  }
  return { pacer, clock, asked: agent.asked, waits, paces, admit }
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!)

/** Each gap close to `ms` (the pace is rarely a whole number of milliseconds). */
function expectGaps(times: number[], ms: number) {
  for (const gap of gaps(times)) expect(gap).toBeCloseTo(ms, 6)
}

describe('the pace the cluster allows', () => {
  it("by default paces for Serf's lan profile: 95 % of 512 events per 30 s push/pull", async () => {
    const { admit, pacer } = pacerWith([{ sample: calm }])
    const at = await admit(20)
    expect(pacer.rate).toBeCloseTo(16.2133, 4)
    expectGaps(at.slice(5), 1000 / pacer.rate)
  })

  it.each([
    ['local', 32.4267],
    ['lan', 16.2133],
    ['wan', 8.1067],
  ] as const)('%s with 3 members: %f events/s', async (profile, rate) => {
    const { admit, pacer, paces } = pacerWith([{ sample: calm }], { profile })
    const at = await admit(12)
    expect(pacer.rate).toBeCloseTo(rate, 4)
    expectGaps(at.slice(5), 1000 / pacer.rate)
    expect(paces).toHaveLength(1)
    expect(paces[0]).toMatchObject({ overridden: false, view: { profile, alive: 3, known: 3 } })
  })

  it("slows above 32 live members as memberlist stretches push/pull; failed and left ones don't count", async () => {
    const big = pacerWith([{ sample: { eventQueue: 0, members: 100 } }])
    await big.admit(1)
    expect(big.pacer.rate).toBeCloseTo((0.95 * 512) / 90, 6)
    const shrunk = pacerWith([{ sample: { eventQueue: 0, members: 100, failed: 60, left: 10 } }])
    await shrunk.admit(1)
    expect(shrunk.pacer.rate).toBeCloseTo(16.2133, 4)
  })

  it('re-derives the pace when the members change it, and tells each change once', async () => {
    const members = (n: number): Step => ({ sample: { eventQueue: 0, members: n } })
    const script = [...Array(6).fill(members(3)), ...Array(3).fill(members(100)), members(4), members(5), members(5)]
    const { admit, paces } = pacerWith(script, { sampleEveryMs: 0 })
    const at = await admit(script.length)
    expect(paces.map((p) => [p.view.alive, Number(p.rate.toFixed(2))])).toEqual([
      [3, 16.21],
      [100, 5.4],
      [4, 16.21],
    ])
    // Each event reserves the gap after it at the pace of the read before it: the 7th read
    // (100 members) spaces the 9th event, the 10th read (4 members) the 12th.
    const [before, ...rest] = gaps(at).slice(6)
    expect(before).toBeCloseTo(1000 / (0.95 * (512 / 30)), 6)
    expect(rest.map((gap) => Number(gap.toFixed(1)))).toEqual([185.0, 185.0, 185.0, 61.7])
  })

  it('spaces events too large for gossip to carry at the pace further apart', async () => {
    const { admit } = pacerWith([{ sample: calm }])
    const at = await admit(12, undefined, 512)
    // Two 512-byte events per packet, 10 packets/s, each event sent 4 times: 5/s, 4.75/s paced.
    expectGaps(at.slice(5), 1000 / 4.75)
  })

  it('reads the members before the first event when asked, and tells the pace', async () => {
    const { pacer, asked, paces } = pacerWith([{ sample: { eventQueue: 0, members: 40 } }])
    await pacer.refresh()
    expect(asked).toHaveLength(1)
    expect(paces).toHaveLength(1)
    expect(paceMessage(paces[0]!)).toEqual({
      level: 'info',
      message:
        'pace 8.1/s: lan profile, 40 members, push/pull every 60 s (30 s ×2 above 32 members), 512-event buffer ' +
        '(95 % of 8.5/s); events over 276 bytes encoded go slower, as gossip carries fewer of them',
    })
  })
})

describe("the operator's maxRate", () => {
  it('replaces the pace, gossip capacity included, and warns when it is above what Serf can repair', async () => {
    const { admit, pacer, paces } = pacerWith([{ sample: calm }], { maxRate: 40, sampleEveryMs: 60_000 })
    const at = await admit(12, undefined, 512)
    expect(pacer.rate).toBe(40)
    expect(gaps(at.slice(5))).toEqual(Array(6).fill(25))
    expect(paces[0]).toMatchObject({ rate: 40, overridden: true })
    expect(paceMessage(paces[0]!)).toEqual({
      level: 'warn',
      message:
        'pace 40/s: set by -max-rate, above the 16.2/s this cluster allows (lan profile, 3 members, push/pull ' +
        'every 30 s, 512-event buffer): an event that gossip misses on a node may never reach it',
    })
  })

  it('below the pace is told at info', async () => {
    const { admit, paces } = pacerWith([{ sample: calm }], { maxRate: 10, profile: 'local' })
    await admit(1)
    expect(paceMessage(paces[0]!)).toEqual({
      level: 'info',
      message:
        'pace 10/s: set by -max-rate, within the 32.4/s this cluster allows (local profile, 3 members, push/pull every 15 s, 512-event buffer)',
    })
  })
})

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

  it('tells each halving, with how long the answer took', async () => {
    const script: Step[] = [{ sample: calm, takesMs: 300 }, { sample: calm, takesMs: 400 }, { sample: calm }]
    const backoffs: Backoff[] = []
    const { admit } = pacerWith(script, { maxRate: 20, sampleEveryMs: 0, onBackoff: (b) => backoffs.push(b) })
    await admit(5)
    expect(backoffs).toEqual([
      { answeredMs: 300, from: 20, to: 10 },
      { answeredMs: 400, from: 10, to: 5 },
    ])
  })

  it("climbs back to the cluster's pace, not beyond", async () => {
    const script: Step[] = [{ sample: calm, takesMs: 300 }, { sample: calm }]
    const { admit, pacer } = pacerWith(script, { profile: 'local', sampleEveryMs: 0 })
    await admit(1)
    expect(pacer.rate).toBeCloseTo(16.2133, 4)
    await admit(30)
    expect(pacer.rate).toBeCloseTo(32.4267, 4)
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
    await expect(pacer.admit(SMALL, controller.signal)).rejects.toBe(reason)
  })

  it('rejects a wait for the next rate slot with the signal reason', async () => {
    const { admit, pacer } = pacerWith([{ sample: calm }], { maxRate: 1, sampleEveryMs: 60_000 })
    await admit(5)
    const reason = new Error('stop now')
    await expect(pacer.admit(SMALL, AbortSignal.abort(reason))).rejects.toBe(reason)
  })
})
