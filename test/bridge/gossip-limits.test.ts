/**
 * The model the bridge paces by: what push/pull can repair (512 events per interval, the interval
 * per profile and scaled as memberlist scales it) and what gossip carries of events of a size.
 * Figures checked against memberlist's own source and tests and against
 * /work/shared/reference's derived table.
 */
import { describe, expect, it } from 'vitest'
import {
  type ClusterView,
  describePace,
  eventGapMs,
  type GossipProfile,
  gossipRate,
  paceFor,
  pushPullIntervalMs,
  repairSafeRate,
} from '../../agent-bridge/gossip-limits.ts'

const view = (profile: GossipProfile, alive: number, more: Partial<ClusterView> = {}): ClusterView => ({
  profile,
  alive,
  known: alive,
  encrypted: false,
  ...more,
})

/** memberlist util.go pushPullScale, transcribed: `math.Ceil(math.Log2(n)-math.Log2(32)) + 1` above 32. */
const memberlistScale = (n: number) => (n <= 32 ? 1 : Math.ceil(Math.log2(n) - Math.log2(32)) + 1)

describe('the repair-safe rate per profile', () => {
  it.each([
    ['local', 15_000, 34.13, 32.43],
    ['lan', 30_000, 17.07, 16.21],
    ['wan', 60_000, 8.53, 8.11],
  ] as const)(
    '%s with 3 members: push/pull every %i ms, %f/s repairable, paced at 95 %%: %f/s',
    (profile, ms, repair, rate) => {
      expect(pushPullIntervalMs(profile, 3)).toBe(ms)
      expect(repairSafeRate(profile, 3)).toBeCloseTo(repair, 2)
      expect(paceFor(view(profile, 3)).rate).toBeCloseTo(rate, 2)
    },
  )
})

describe("memberlist's push/pull scaling above 32 members", () => {
  it.each([
    [32, 1],
    [33, 2],
    [64, 2],
    [65, 3],
    [100, 3],
    [128, 3],
    [129, 4],
    [200, 4],
  ])('%i members: ×%i, as memberlist computes it', (members, scale) => {
    expect(memberlistScale(members)).toBe(scale)
    expect(pushPullIntervalMs('lan', members)).toBe(30_000 * scale)
    expect(paceFor(view('lan', members)).pushPullScale).toBe(scale)
  })

  it("agrees with memberlist's TestPushPullScale for 1 to 128 nodes", () => {
    for (let n = 1; n <= 128; n++) {
      const expected = n <= 32 ? 1 : n <= 64 ? 2 : 3
      expect(pushPullIntervalMs('local', n)).toBe(15_000 * expected)
    }
  })

  it('slows lan to under 6/s at 100 members (512 per 90 s), 5.4/s with the margin', () => {
    expect(repairSafeRate('lan', 100)).toBeCloseTo(5.69, 2)
    expect(paceFor(view('lan', 100)).rate).toBeCloseTo(5.4, 2)
    expect(paceFor(view('lan', 200)).rate).toBeCloseTo(0.95 * (512 / 120), 5)
  })
})

describe('what gossip carries, by encoded event size', () => {
  it("matches the reference's table: lan 3 nodes 70/s of 46-byte and 5/s of 512-byte events, local 280/s and 20/s", () => {
    expect(gossipRate(view('lan', 3), 46)).toBeCloseTo(70, 5)
    expect(gossipRate(view('lan', 3), 512)).toBeCloseTo(5, 5)
    expect(gossipRate(view('local', 3), 46)).toBeCloseTo(280, 5)
    expect(gossipRate(view('local', 3), 512)).toBeCloseTo(20, 5)
  })

  it('counts failed and left members in the retransmits (Serf resends to them), not in the peers', () => {
    // 3 alive of 10 known: 4 × ceil(log10 11) = 8 sends per event instead of 4.
    expect(gossipRate(view('lan', 3, { known: 10 }), 46)).toBeCloseTo(35, 5)
  })

  it('leaves 29 bytes per packet to encryption', () => {
    // 1398 / 49 = 28 small events per packet, 1369 / 49 = 27.
    expect(gossipRate(view('local', 3, { encrypted: true }), 46)).toBeCloseTo(270, 5)
  })

  it('does not limit a lone agent: nothing gossips', () => {
    expect(gossipRate(view('lan', 1), 512)).toBe(Number.POSITIVE_INFINITY)
    expect(paceFor(view('lan', 1)).fullRateBytes).toBe(Number.POSITIVE_INFINITY)
  })

  it('spaces an event by the pace, or by what gossip carries of its size when that is less', () => {
    const lan = view('lan', 3)
    const { rate, fullRateBytes } = paceFor(lan)
    expect(fullRateBytes).toBe(196)
    expect(eventGapMs(lan, rate, 50)).toBeCloseTo(1000 / rate, 5)
    expect(eventGapMs(lan, rate, 196)).toBeCloseTo(1000 / rate, 5)
    expect(eventGapMs(lan, rate, 197)).toBeGreaterThan(1000 / rate)
    // Two 512-byte events per packet: 5/s, 4.75/s with the margin.
    expect(eventGapMs(lan, rate, 512)).toBeCloseTo(1000 / 4.75, 5)
  })
})

describe('what the operator reads', () => {
  it('states the pace and every input it comes from', () => {
    expect(describePace(view('lan', 3), paceFor(view('lan', 3)))).toBe(
      'pace 16.2/s: lan profile, 3 members, push/pull every 30 s, 512-event buffer (95 % of 17.1/s); ' +
        'events over 196 bytes encoded go slower, as gossip carries fewer of them',
    )
    expect(describePace(view('lan', 100), paceFor(view('lan', 100)))).toMatch(
      /^pace 5\.4\/s: lan profile, 100 members, push\/pull every 90 s \(30 s ×3 above 32 members\), 512-event buffer \(95 % of 5\.7\/s\)/,
    )
    expect(describePace(view('local', 1), paceFor(view('local', 1)))).toBe(
      'pace 32.4/s: local profile, 1 member, push/pull every 15 s, 512-event buffer (95 % of 34.1/s)',
    )
  })
})
