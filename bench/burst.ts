/**
 * Figure 2 (burst delivery) and figure 4 (the bridge's footprint during it): `count`
 * non-coalesced events submitted as fast as a system accepts them, then the wait until every
 * node's recorder has run for each of them or arrivals stop. The cluster's own loss-free rate is
 * found with direct RPC at fixed rates, stepping up until an event goes missing.
 */
import type { SerfCluster } from '../scripts/harness/serf.ts'
import { type ClusterArrivals, oldEventDrops } from './cluster.ts'
import { cpuSeconds, statusKiB } from './proc.ts'
import { nowMs, sleep } from './stats.ts'
import type { EventSystem, SystemId } from './systems.ts'
import { withConcurrency } from './systems.ts'

export interface BurstRun {
  system: SystemId
  /** How the events were submitted, e.g. "unpaced" or "capped at 100/s". */
  mode: string
  count: number
  /** Sender start → the system accepted the last event. */
  submitSeconds: number
  /** Events that reached all three nodes. */
  onEveryNode: number
  perNode: number[]
  duplicates: number
  /** Serf's "received old event" drops during the run, per node. */
  oldEventDrops: number[]
  /** Sender start → the last recorder run of this burst on any node. */
  deliverySeconds: number
  /** `onEveryNode / deliverySeconds`. */
  eventsPerSecond: number
  /** Stopped waiting because no event arrived for the quiet period (some are missing). */
  stalled: boolean
  submitErrors: number
  footprint?: Footprint
}

/** A process's peak RSS and the CPU it used during a run. */
export interface Footprint {
  pid: number
  peakRssMiB: number
  cpuSeconds: number
}

export interface BurstOptions {
  count: number
  name: string
  mode: string
  /** Submits events `name` with payloads "0".."count-1"; resolves when all were accepted. */
  submit: (name: string, count: number) => Promise<number>
  /** Stop waiting when nothing new arrived for this long (default 15 s). */
  quietMs?: number
  /** A process to watch (the bridge). */
  watchPid?: number
}

export async function runBurst(
  system: SystemId,
  cluster: SerfCluster,
  arrivals: ClusterArrivals,
  options: BurstOptions,
): Promise<BurstRun> {
  const { count, name, quietMs = 15_000 } = options
  const oldBefore = oldEventDrops(cluster.agents)
  const cpuBefore = options.watchPid ? cpuSeconds(options.watchPid) : 0
  const dupsBefore = arrivals.nodes.map((node) => node.duplicates)
  const start = nowMs()
  const submitErrors = await options.submit(name, count)
  const submitSeconds = (nowMs() - start) / 1000
  const hardDeadline = nowMs() + Math.max(240_000, count * 200)
  let lastTotal = -1
  let lastChange = nowMs()
  let stalled = false
  for (;;) {
    await arrivals.refresh()
    const counts = arrivals.counts(name)
    const total = counts.reduce((a, b) => a + b, 0)
    if (counts.every((n) => n >= count - submitErrors)) break
    if (total !== lastTotal) {
      lastTotal = total
      lastChange = nowMs()
    } else if (nowMs() - lastChange > quietMs || nowMs() > hardDeadline) {
      stalled = true
      break
    }
    await sleep(250)
  }
  const footprint = options.watchPid
    ? {
        pid: options.watchPid,
        peakRssMiB: statusKiB(options.watchPid, 'VmHWM') / 1024,
        cpuSeconds: cpuSeconds(options.watchPid) - cpuBefore,
      }
    : undefined
  let onEveryNode = 0
  let last = start
  for (let i = 0; i < count; i++) {
    const times = arrivals.times(name, String(i))
    if (times.every((t) => t !== undefined)) onEveryNode++
    for (const t of times) if (t !== undefined && t > last) last = t
  }
  const deliverySeconds = (last - start) / 1000
  const oldAfter = oldEventDrops(cluster.agents)
  return {
    system,
    mode: options.mode,
    count,
    submitSeconds,
    onEveryNode,
    perNode: arrivals.counts(name),
    duplicates: arrivals.nodes.reduce((sum, node, i) => sum + node.duplicates - dupsBefore[i]!, 0),
    oldEventDrops: oldAfter.map((n, i) => n - oldBefore[i]!),
    deliverySeconds,
    eventsPerSecond: onEveryNode / deliverySeconds,
    stalled,
    submitErrors,
    footprint,
  }
}

/** Submit through `system.fire` with `concurrency` senders; returns how many failed. */
export function concurrentSubmitter(system: EventSystem, concurrency: number) {
  return async (name: string, count: number): Promise<number> => {
    let failed = 0
    await withConcurrency(count, concurrency, (i) =>
      system.fire(name, String(i)).catch(() => {
        failed++
      }),
    )
    return failed
  }
}

/**
 * Submit over one pipelined RPC connection: all at once (`rate` 0), or one event every
 * `1/rate` s on a fixed schedule, without waiting for replies in between.
 */
export function pipelinedSubmitter(system: EventSystem, rate = 0) {
  return async (name: string, count: number): Promise<number> => {
    const sent: Promise<void>[] = []
    const start = nowMs()
    for (let i = 0; i < count; i++) {
      if (rate > 0) {
        const due = start + (i * 1000) / rate
        const wait = due - nowMs()
        if (wait > 1) await sleep(wait)
      }
      const reply = system.fire(name, String(i))
      // Replies are read after the last send; until then a refusal must not count as unhandled.
      reply.catch(() => {})
      sent.push(reply)
    }
    const results = await Promise.allSettled(sent)
    return results.filter((result) => result.status === 'rejected').length
  }
}

export interface RateSearch {
  steps: BurstRun[]
  /** The fastest step that lost nothing, by delivered events/s. */
  best: BurstRun | undefined
}

/** Direct RPC at each rate in turn, until a step loses an event. */
export async function findLossFreeRate(
  direct: EventSystem,
  cluster: SerfCluster,
  arrivals: ClusterArrivals,
  { rates, stepSize, log }: { rates: number[]; stepSize: number; log: (line: string) => void },
): Promise<RateSearch> {
  const steps: BurstRun[] = []
  for (const rate of rates) {
    const run = await runBurst('direct', cluster, arrivals, {
      count: stepSize,
      name: `step-${rate}`,
      mode: `capped at ${rate}/s`,
      submit: pipelinedSubmitter(direct, rate),
    })
    steps.push(run)
    log(
      `  direct capped at ${rate}/s: ${run.onEveryNode}/${run.count} on every node, ${run.eventsPerSecond.toFixed(1)} events/s`,
    )
    if (run.onEveryNode < run.count) break
  }
  const lossFree = steps.filter((step) => step.onEveryNode === step.count)
  const best = lossFree.sort((a, b) => b.eventsPerSecond - a.eventsPerSecond)[0]
  return { steps, best }
}
