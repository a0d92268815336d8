import { describe, expect, it } from 'vitest'
import type { BurstRun } from '../../bench/burst.ts'
import type { IngestRun } from '../../bench/ingest.ts'
import {
  bridgeMaxRate,
  bridgeRateSource,
  clusterRate,
  cpuVerdict,
  edgeCpu,
  grouped,
  isNoisy,
  minutesAtBurstSize,
  percentOf,
  rateCapBound,
  signed,
  slowerThanExtrapolated,
  verdict,
} from '../../bench/report-verdicts.ts'
import type { BenchResults } from '../../bench/results.ts'

const summary = { n: 1, min: 1, median: 1, p99: 1, max: 1, mean: 1 }
const ingest = (system: IngestRun['system'], workerd: number): IngestRun => ({
  system,
  concurrency: 16,
  seconds: 8,
  accepted: 100,
  failed: 0,
  requestsPerSecond: 12.5,
  latency: summary,
  cpuMsPerRequest: { workerd, 'wrangler (node)': 1 },
  clientCpuMsPerRequest: 1,
})
const burst = (eventsPerSecond: number, deliverySeconds: number): BurstRun => ({
  system: 'direct',
  mode: 'unpaced',
  count: 1000,
  submitSeconds: 1,
  onEveryNode: 1000,
  perNode: [1000, 1000, 1000],
  duplicates: 0,
  oldEventDrops: [0, 0, 0],
  deliverySeconds,
  eventsPerSecond,
  stalled: false,
  submitErrors: 0,
})
const results = (r: Partial<BenchResults>): BenchResults => ({
  facts: {} as BenchResults['facts'],
  latency: {},
  bursts: [],
  ingest: [],
  loadAverages: [],
  phases: [],
  totalSeconds: 0,
  finishedAt: '2026-01-01T00:00:00.000Z',
  ...r,
})

describe('verdict words', () => {
  it.each([
    [true, '**met**'],
    [false, '**missed**'],
    [undefined, 'not measured'],
  ])('a target %s reads %s', (met, words) => {
    expect(verdict(met)).toBe(words)
  })

  it('signs differences with a plus or a true minus sign, one decimal', () => {
    expect([signed(12.44), signed(-54.66), signed(0)]).toEqual(['+12.4', '−54.7', '+0.0'])
  })

  it('gives shares with one decimal, and a dash for a share of nothing', () => {
    expect([percentOf(512, 1000), percentOf(1000, 1000), percentOf(1, 0)]).toEqual(['51.2 %', '100.0 %', '—'])
  })

  it('groups thousands the way the targets are written', () => {
    expect([grouped(100_000), grouped(10_000), grouped(256)]).toEqual(['100,000', '10,000', '256'])
  })
})

describe('noise', () => {
  it.each([
    [1.5, 2, false],
    [1.51, 2, true],
    [18.54, 2, true],
    [5, 8, false],
  ])('a 1-minute load of %s on %s cores is noisy: %s', (load, cores, noisy) => {
    expect(isNoisy(load, cores)).toBe(noisy)
  })
})

describe('edge CPU against the free plan', () => {
  it('takes the worst edge run and subtracts the GET / baseline', () => {
    const cpu = edgeCpu(
      results({ ingest: [ingest('edge', 5.44), ingest('edge', 4.72), ingest('edge-baseline', 2.66)] }),
    )
    expect(cpu?.worst).toBe(5.44)
    expect(cpu?.baseline).toBe(2.66)
    expect(cpu?.net).toBeCloseTo(2.78, 10)
  })

  it('is unmeasured without an edge run, and has no baseline without a baseline run', () => {
    expect(edgeCpu(results({ ingest: [ingest('webhook', 1)] }))).toBeUndefined()
    expect(edgeCpu(results({ ingest: [ingest('edge', 3)] }))?.net).toBe(3)
  })

  it.each([
    [{ worst: 5.44, baseline: 2.66, net: 2.78 }, '**within**'],
    [
      { worst: 12, baseline: 4, net: 8 },
      '**within** once the proxy/runtime baseline is taken off; the raw upper bound is above',
    ],
    [{ worst: 14, baseline: 2, net: 12 }, '**above** (local upper bound)'],
    [{ worst: 10, baseline: 0, net: 10 }, '**above** (local upper bound)'],
  ])('%o reads %s', (cpu, words) => {
    expect(cpuVerdict(cpu)).toBe(words)
  })
})

describe('what bound serf-edge in the burst', () => {
  it('reads -max-rate from the bridge settings, 0 when they do not say', () => {
    expect(bridgeMaxRate('-batch-size=256 -max-event-queue=32 -max-rate=25')).toBe(25)
    expect(bridgeMaxRate('-max-rate=0')).toBe(0)
    expect(bridgeMaxRate(undefined)).toBe(0)
  })

  it('reads the pace the bridge derives from the cluster when -max-rate is not given', () => {
    const derived = '-batch-size=256 -max-event-queue=32 -gossip-profile=local (pace 30.7/s for 3 members)'
    expect(bridgeMaxRate(derived)).toBe(30.7)
    expect(bridgeRateSource(derived)).toBe('pace for the cluster (`-gossip-profile=local`)')
    expect(bridgeRateSource('-gossip-profile=local -max-rate=0')).toBe('`-max-rate=0`')
    expect(bridgeRateSource('-batch-size=256 -max-event-queue=32 -max-rate=25')).toBe('`-max-rate=25`')
  })

  it.each([
    [54.7, 25, true],
    [22.5, 25, true],
    [22.4, 25, false],
    [500, 0, false],
  ])('accepting %s/s under -max-rate=%s: the cap bound it: %s', (acceptRate, maxRate, bound) => {
    expect(rateCapBound(acceptRate, maxRate)).toBe(bound)
  })

  it("takes the cluster's rate from the best loss-free step, else from the fastest burst", () => {
    expect(clusterRate(results({ bursts: [burst(24.5, 40)], rateSearch: { steps: [], best: burst(42.2, 24) } }))).toBe(
      42.2,
    )
    expect(
      clusterRate(results({ bursts: [burst(24.5, 40), burst(32, 16)], rateSearch: { steps: [], best: undefined } })),
    ).toBe(32)
    expect(clusterRate(results({}))).toBe(0)
  })
})

describe('extrapolations', () => {
  it('replaces each burst and step by the time it would take at the full size', () => {
    // 600 s in all, 100 s of it bursts; at 10,000 events: 10,000/50 + 10,000/25 = 600 s of bursts.
    const r = results({
      totalSeconds: 600,
      bursts: [burst(50, 40)],
      rateSearch: { steps: [burst(25, 60)], best: undefined },
    })
    expect(minutesAtBurstSize(r, 10_000)).toBeCloseTo((600 - 100 + 600) / 60, 10)
  })

  it('calls the large run slower only below 80 % of the small run’s rate', () => {
    expect(slowerThanExtrapolated(111.3, 207.3)).toBe(true)
    expect(slowerThanExtrapolated(170, 207.3)).toBe(false)
  })
})
