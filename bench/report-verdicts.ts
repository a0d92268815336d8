/**
 * The report's targets and every judgement it makes on the numbers, as small functions: the
 * template (bench/report.md.tmpl) prints what these decide and never decides anything itself.
 */
import type { BenchResults } from './results.ts'
import { fmt } from './stats.ts'

/** The targets the benchmarks were asked to check, in the units the report states them in. */
export const TARGETS = {
  /** serf-edge adds at most this many ms at the median over direct RPC. */
  addedLatencyMs: 15,
  /** serf-edge's burst delivery as a share of the cluster's loss-free rate, in %. */
  burstSharePercent: 90,
  burstEvents: 10_000,
  queueEvents: 100_000,
  latencySamples: 200,
  /** Cloudflare's free-plan CPU time per Worker invocation. */
  freeCpuMs: 10,
} as const

/** @example verdict(true) === '**met**' */
export function verdict(met: boolean | undefined): string {
  return met === undefined ? 'not measured' : met ? '**met**' : '**missed**'
}

/** A difference with its sign, the minus as U+2212 like the rest of the report. @example signed(-3) === '−3.0' */
export function signed(value: number): string {
  return `${value < 0 ? '−' : '+'}${fmt(Math.abs(value))}`
}

/** @example percentOf(1, 4) === '25.0 %' */
export function percentOf(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '—'
}

/** A count with thousands separators, as the targets are written. @example grouped(100000) === '100,000' */
export function grouped(value: number): string {
  return value.toLocaleString('en-US')
}

/** "Other processes loaded the machine": the busiest 1-minute load average above ¾ of the cores. */
export function isNoisy(maxLoad: number, cores: number): boolean {
  return maxLoad > cores * 0.75
}

export interface EdgeCpu {
  /** The worst workerd CPU ms per accepted event over the edge's ingest runs. */
  worst: number
  /** workerd CPU ms per `GET /`: the proxy hop and HTTP, no signature, no Durable Object. */
  baseline: number
  /** `worst - baseline`: verification, validation and the Durable Object append. */
  net: number
}

/** The edge's CPU per ingested event from figure 3, or undefined when the edge was not measured. */
export function edgeCpu(r: BenchResults): EdgeCpu | undefined {
  const runs = r.ingest.filter((run) => run.system === 'edge')
  if (!runs.length) return undefined
  const worst = Math.max(...runs.map((run) => run.cpuMsPerRequest.workerd ?? Number.NaN))
  const baseline = r.ingest.find((run) => run.system === 'edge-baseline')?.cpuMsPerRequest.workerd ?? 0
  return { worst, baseline, net: worst - baseline }
}

/** The edge CPU target's verdict: the raw figure is an upper bound of what Cloudflare counts. */
export function cpuVerdict(cpu: EdgeCpu, limitMs: number = TARGETS.freeCpuMs): string {
  if (cpu.worst < limitMs) return '**within**'
  if (cpu.net < limitMs) return '**within** once the proxy/runtime baseline is taken off; the raw upper bound is above'
  return '**above** (local upper bound)'
}

/**
 * agent-bridge's rate into Serf in its effective settings: `-max-rate`, else the pace it derives
 * from the cluster (`pace 30.7/s`); 0 (no cap) when they say neither.
 */
export function bridgeMaxRate(settings: string | undefined): number {
  const text = settings ?? ''
  return Number((/-max-rate=([\d.]+)/.exec(text) ?? /pace ([\d.]+)\/s/.exec(text))?.[1] ?? 0)
}

/** Where that rate comes from, as the report names it: the flag, or the cluster's pace. */
export function bridgeRateSource(settings: string | undefined): string {
  const text = settings ?? ''
  const flag = /-max-rate=[\d.]+/.exec(text)?.[0]
  const profile = /-gossip-profile=\w+/.exec(text)?.[0]
  if (!flag && profile) return `pace for the cluster (\`${profile}\`)`
  return `\`${flag ?? '-max-rate=0'}\``
}

/** The rate cap bound A when the edge accepted events at 90 % of the cap or faster. */
export function rateCapBound(acceptRate: number, maxRate: number): boolean {
  return maxRate > 0 && acceptRate >= 0.9 * maxRate
}

/** What the cluster delivered to every node at best: the loss-free step, else the fastest burst. */
export function clusterRate(r: BenchResults): number {
  return r.rateSearch?.best?.eventsPerSecond ?? Math.max(0, ...r.bursts.map((run) => run.eventsPerSecond))
}

/** Minutes this run would have taken with every burst and rate step at `size` events. */
export function minutesAtBurstSize(r: BenchResults, size: number): number {
  const runs = [...r.bursts, ...(r.rateSearch?.steps ?? [])]
  const burstSeconds = runs.reduce((sum, run) => sum + run.deliverySeconds, 0)
  const atSize = runs.reduce((sum, run) => sum + size / Math.max(run.eventsPerSecond, 1e-9), 0)
  return (r.totalSeconds - burstSeconds + atSize) / 60
}

/** The large run queued notably slower (below 80 %) than the small run's rate suggested. */
export function slowerThanExtrapolated(largeRate: number, smallRate: number): boolean {
  return largeRate < 0.8 * smallRate
}
