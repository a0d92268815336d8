/**
 * The values of the report's five figures (sections 1 to 5 of bench/report.md.tmpl), each
 * `undefined` when the run did not measure it. Every key is always present, possibly
 * `undefined`, so that Mustache never finds a name in an outer section by accident.
 */
import type { BurstRun } from './burst.ts'
import type { IngestRun } from './ingest.ts'
import type { BenchOptions } from './options.ts'
import {
  bridgeMaxRate,
  bridgeRateSource,
  clusterRate,
  edgeCpu,
  grouped,
  minutesAtBurstSize,
  percentOf,
  rateCapBound,
  signed,
  slowerThanExtrapolated,
  TARGETS,
} from './report-verdicts.ts'
import { type BenchResults, type SeparateQueueRun, SYSTEMS } from './results.ts'
import { fmt, type Summary } from './stats.ts'
import { SHORT_LABELS, SYSTEM_LABELS } from './systems.ts'

const medianP99 = (s: Summary) => `${fmt(s.median)} / ${fmt(s.p99)}`

/** Figure 1, end-to-end latency; undefined when no system was measured. */
export function latencyView(r: BenchResults) {
  const measured = SYSTEMS.filter((id) => r.latency[id])
  if (!measured.length) return undefined
  const a = r.latency.edge
  const b = r.latency.direct
  const late = measured.filter((id) => r.latency[id]!.lateOnSomeNode > 0)
  const errors = measured.flatMap((id) => r.latency[id]!.errors.map((e) => `${SHORT_LABELS[id]}: ${e}`))
  return {
    rows: measured.map((id) => {
      const l = r.latency[id]!
      return {
        label: SYSTEM_LABELS[id],
        samples: l.lastNode.n,
        lost: l.lost,
        answer: medianP99(l.accepted),
        node0: medianP99(l.firstNode),
        endToEnd: medianP99(l.lastNode),
      }
    }),
    againstDirect: b
      ? {
          systems: (['edge', 'webhook'] as const).flatMap((id) => {
            const l = r.latency[id]
            if (!l) return []
            return {
              label: SHORT_LABELS[id],
              median: signed(l.lastNode.median - b.lastNode.median),
              ratio: fmt(l.lastNode.median / b.lastNode.median, 2),
              p99: signed(l.lastNode.p99 - b.lastNode.p99),
              node0: signed(l.firstNode.median - b.firstNode.median),
            }
          }),
        }
      : undefined,
    tails: late.length
      ? { counts: late.map((id) => `${SHORT_LABELS[id]} ${r.latency[id]!.lateOnSomeNode}`).join(', ') }
      : undefined,
    edgeBreakdown: a
      ? {
          answered: fmt(a.accepted.median),
          toNode0: fmt(a.firstNode.median - a.accepted.median),
          gossip: fmt(a.lastNode.median - a.firstNode.median),
          directGossip: b ? fmt(b.lastNode.median - b.firstNode.median) : '—',
        }
      : undefined,
    failedSends: errors.length ? { firstFive: errors.slice(0, 5).join('; ') } : undefined,
  }
}

const burstRow = (run: BurstRun, label: string) => ({
  label,
  mode: run.mode,
  submitSeconds: fmt(run.submitSeconds),
  reached: `${run.onEveryNode}/${run.count} (${percentOf(run.onEveryNode, run.count)})`,
  perNode: run.perNode.join(' / '),
  drops: run.oldEventDrops.join(' / '),
  deliverySeconds: fmt(run.deliverySeconds),
  eventsPerSecond: fmt(run.eventsPerSecond),
})

/** Figure 2, burst delivery and the cluster's loss-free rate; undefined when no burst ran. */
export function burstView(r: BenchResults, o: BenchOptions) {
  if (!r.bursts.length && !r.rateSearch) return undefined
  const edge = r.bursts.find((run) => run.system === 'edge')
  const best = r.rateSearch?.best
  const cap = clusterRate(r)
  const maxRate = bridgeMaxRate(r.bridgeSettings)
  const fullSize = TARGETS.burstEvents
  return {
    count: o.burst,
    concurrency: o.burstConcurrency,
    rows: r.bursts.map((run) => burstRow(run, SHORT_LABELS[run.system])),
    rateSearch: r.rateSearch
      ? {
          stepSize: o.stepSize,
          steps: r.rateSearch.steps.map((run) => burstRow(run, SHORT_LABELS.direct)),
          best: best
            ? {
                rate: fmt(best.eventsPerSecond),
                mode: best.mode,
                edgeShare: edge
                  ? {
                      rate: fmt(edge.eventsPerSecond),
                      percent: fmt((100 * edge.eventsPerSecond) / best.eventsPerSecond),
                      lost: edge.count - edge.onEveryNode,
                      count: edge.count,
                    }
                  : undefined,
              }
            : undefined,
        }
      : undefined,
    edgeLimits: edge
      ? {
          acceptRate: fmt(edge.count / edge.submitSeconds),
          submitSeconds: fmt(edge.submitSeconds),
          count: edge.count,
          maxRate,
          rateSource: bridgeRateSource(r.bridgeSettings),
          hasRateCap: maxRate > 0,
          rateFlagGiven: o.bridgeArgs.some((arg) => arg.includes('max-rate')),
          capped: rateCapBound(edge.count / edge.submitSeconds, maxRate),
          clusterRate: fmt(cap),
        }
      : undefined,
    smallBurst:
      o.burst < fullSize && cap > 0
        ? {
            count: o.burst,
            fullSize: grouped(fullSize),
            cores: r.facts.cores,
            clusterRate: fmt(cap),
            fullBurstMinutes: fmt(fullSize / cap / 60),
            estimateMinutes: fmt(minutesAtBurstSize(r, fullSize)),
            runMinutes: fmt(r.totalSeconds / 60),
          }
        : undefined,
  }
}

const ingestLabel = (system: IngestRun['system']) =>
  system === 'edge-baseline' ? 'A edge, `GET /` baseline' : SHORT_LABELS[system]

/** Figure 3, signed requests accepted and the edge's CPU per request; undefined when not run. */
export function ingestView(r: BenchResults, o: BenchOptions) {
  if (!r.ingest.length) return undefined
  const cpu = edgeCpu(r)
  const find = (system: IngestRun['system'], concurrency: number) =>
    r.ingest.find((run) => run.system === system && run.concurrency === concurrency)
  return {
    seconds: o.ingestSeconds,
    rows: r.ingest.map((run) => ({
      label: ingestLabel(run.system),
      concurrency: run.concurrency,
      requestsPerSecond: fmt(run.requestsPerSecond),
      accepted: run.accepted,
      failed: run.failed,
      median: fmt(run.latency.median),
      p99: fmt(run.latency.p99),
      serverCpu: Object.entries(run.cpuMsPerRequest)
        .map(([name, ms]) => `${name} ${fmt(ms, 2)}`)
        .join('; '),
      clientCpu: fmt(run.clientCpuMsPerRequest, 2),
    })),
    edgeAgainstWebhook: o.concurrency.flatMap((concurrency) => {
      const a = find('edge', concurrency)
      const c = find('webhook', concurrency)
      if (!a || !c) return []
      return {
        concurrency,
        ratio: fmt(a.requestsPerSecond / c.requestsPerSecond, 2),
        edgeP99: fmt(a.latency.p99),
        webhookP99: fmt(c.latency.p99),
      }
    }),
    edgeCpu: cpu ? { worst: fmt(cpu.worst, 2), baseline: fmt(cpu.baseline, 2), net: fmt(cpu.net, 2) } : undefined,
    freeCpuMs: TARGETS.freeCpuMs,
  }
}

/** Figure 4, the bridge's memory and CPU, during the burst and the queue drain. */
export function footprintView(r: BenchResults) {
  const run = r.bursts.find((b) => b.system === 'edge' && b.footprint)
  const q = r.queue
  if (!run?.footprint && !q) return undefined
  const row = (count: number, peakRssMiB: number, cpuSeconds: number) => ({
    count,
    peakRssMiB: fmt(peakRssMiB),
    cpuSeconds: fmt(cpuSeconds, 2),
    cpuMsPerEvent: fmt((1000 * cpuSeconds) / count, 2),
  })
  const bridge = r.bridgeProcess
  return {
    asUnit: bridge
      ? {
          entry: bridge.entry,
          settings: [
            `NODE_OPTIONS="${bridge.nodeArgs.join(' ')}"`,
            ...Object.entries(bridge.env).map(([k, v]) => `${k}=${v}`),
          ].join(' '),
        }
      : undefined,
    duringBurst: run?.footprint ? row(run.count, run.footprint.peakRssMiB, run.footprint.cpuSeconds) : undefined,
    duringDrain: q ? row(q.count, q.bridgePeakRssMiB, q.bridgeCpuSeconds) : undefined,
  }
}

/** Figure 5, the queue's scale, linking the separate large run when the run was smaller. */
export function queueView(r: BenchResults, large: SeparateQueueRun | undefined) {
  const q = r.queue
  if (!q) return undefined
  const fullSize = TARGETS.queueEvents
  const queueRate = q.count / q.queueSeconds
  const drainRate = q.count / q.drainSeconds
  const belowFullSize = q.count < fullSize
  const first = q.storage[0]
  const pruned = q.storage.find((s) => s.label === 'after pruning')
  const largeRate = large ? large.count / large.queueSeconds : 0
  return {
    count: q.count,
    concurrency: q.concurrency,
    queueSeconds: fmt(q.queueSeconds),
    queueRate: fmt(queueRate),
    queueAtFullSize: belowFullSize
      ? { fullSize: grouped(fullSize), minutes: fmt(fullSize / queueRate / 60) }
      : undefined,
    workerdRss: q.workerdRssMiB ? { mib: fmt(q.workerdRssMiB) } : undefined,
    pollLimit: q.pollLimit,
    pollMedian: fmt(q.pollLatency.median),
    pollP99: fmt(q.pollLatency.p99),
    drainSeconds: fmt(q.drainSeconds),
    drainRate: fmt(drainRate),
    drainAtFullSize: belowFullSize
      ? { fullSize: grouped(fullSize), minutes: fmt(fullSize / drainRate / 60) }
      : undefined,
    startupSeconds: fmt(q.startupSeconds),
    pacingWaitSeconds: fmt(q.pacingWaitSeconds),
    batchSize: fmt(q.batchSize.median, 0),
    batchCycleMedian: fmt(q.batchCycle.median),
    batchCycleP99: fmt(q.batchCycle.p99),
    storage: q.storage.map((s) => ({
      label: s.label,
      fileKiB: fmt(s.fileBytes / 1024, 0),
      rows: s.facts
        ? Object.entries(s.facts.byState)
            .map(([state, count]) => `${state} ${count}`)
            .join(', ') || 'none'
        : 'unreadable',
      live: s.facts ? `${fmt(s.facts.liveBytes / 1024, 0)} KiB` : '—',
    })),
    bytesPerEvent: first?.facts ? { bytes: fmt(first.facts.liveBytes / q.count, 0) } : undefined,
    pruneNote: q.pruneNote,
    freeAfterPruning:
      pruned?.facts && pruned.facts.freePages > 0
        ? {
            freeMiB: fmt((pruned.facts.freePages * pruned.facts.pageSize) / 2 ** 20),
            liveKiB: fmt(pruned.facts.liveBytes / 1024),
          }
        : undefined,
    separateRun:
      large && belowFullSize
        ? {
            bridgeArgs: large.bridgeArgs || 'defaults',
            count: grouped(large.count),
            queueMinutes: fmt(large.queueSeconds / 60),
            queueRate: fmt(largeRate),
            slowerThanExtrapolated: slowerThanExtrapolated(largeRate, queueRate),
            pollLimit: large.pollLimit,
            pollMedian: fmt(large.pollLatency.median),
            drainMinutes: fmt(large.drainSeconds / 60),
          }
        : undefined,
  }
}
