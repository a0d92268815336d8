/**
 * What bench/report.md.tmpl prints, computed from one run: every number formatted, every
 * verdict decided, one object per section of the report. Every key is always present (possibly
 * `undefined`) so that Mustache never finds a name in an outer section by accident.
 */
import type { BenchOptions } from './options.ts'
import type { PaceResults } from './pace-results.ts'
import { burstView, footprintView, ingestView, latencyView, queueView } from './report-figures.ts'
import { paceSection } from './report-pace.ts'
import { cpuVerdict, edgeCpu, grouped, isNoisy, signed, TARGETS, verdict } from './report-verdicts.ts'
import { type BenchResults, type SavedRun, type SeparateQueueRun, SYSTEMS } from './results.ts'
import { fmt, type Summary } from './stats.ts'
import { SHORT_LABELS, SYSTEM_LABELS, type SystemId } from './systems.ts'

export interface ReportContext {
  /** Chart and JSON files beside the report are named `<prefix>-…`. */
  prefix: string
  /** Chart file names, in the order the report shows them. */
  charts: string[]
  /** The separate large queue run, which the main report links to. */
  separateQueueRun: SeparateQueueRun | undefined
  /** The pace figure's scenarios, measured in runs of their own. */
  paceRuns?: PaceResults
}

/**
 * The view of one run's report, for bench/report.ts to fill the template with.
 * @example reportView(saved, { prefix: 'bench', charts: ['bench-latency.svg'], separateQueueRun: undefined }).minutes
 */
export function reportView({ options: o, results: r }: SavedRun, context: ReportContext) {
  return {
    command: `npm run bench${o.argv.length ? ` -- ${o.argv.join(' ')}` : ''}`,
    finishedAt: r.finishedAt.slice(0, 16).replace('T', ' '),
    minutes: fmt(r.totalSeconds / 60),
    resultsFile: `${context.prefix}-results.json`,
    machine: machineView(r),
    targets: targetsView(r, o, context.separateQueueRun),
    labels: SYSTEM_LABELS,
    bridgeSettings: r.bridgeSettings ?? 'its defaults',
    bridgeArgs: o.bridgeArgs.join(' '),
    latency: latencyView(r),
    burst: burstView(r, o),
    ingest: ingestView(r, o),
    footprint: footprintView(r),
    queue: queueView(r, context.separateQueueRun),
    charts: context.charts,
    pace: context.prefix === 'bench' ? paceSection(context.paceRuns) : undefined,
    thisRun: o.argv.length > 0,
    /** docs/BENCHMARKS.md, not a separate run's report: it carries the figures measured apart. */
    mainReport: context.prefix === 'bench',
  }
}

function machineView(r: BenchResults) {
  const f = r.facts
  const maxLoad = Math.max(...r.loadAverages.map((l) => l.load[0] ?? 0), f.loadAverage[0] ?? 0)
  return {
    cpuModel: f.cpuModel,
    cores: f.cores,
    memoryGiB: fmt(f.memoryGiB),
    kernel: f.kernel,
    node: f.node,
    serf: f.serf,
    workerd: f.workerd,
    wrangler: f.wrangler,
    webhook: f.webhook,
    loadAverages: r.loadAverages.map((l) => `${l.when}: ${fmt(l.load[0], 2)}`).join('; '),
    noise: isNoisy(maxLoad, f.cores) ? { maxLoad: fmt(maxLoad, 1) } : undefined,
  }
}

function targetsView(r: BenchResults, o: BenchOptions, large: SeparateQueueRun | undefined) {
  const a = r.latency.edge
  const b = r.latency.direct
  const added = (edge: Summary, direct: Summary) => ({
    limitMs: TARGETS.addedLatencyMs,
    added: signed(edge.median - direct.median),
    edge: fmt(edge.median),
    direct: fmt(direct.median),
    verdict: verdict(edge.median - direct.median <= TARGETS.addedLatencyMs),
  })
  const edgeBurst = r.bursts.find((run) => run.system === 'edge')
  const best = r.rateSearch?.best
  const share = edgeBurst && best ? (100 * edgeBurst.eventsPerSecond) / best.eventsPerSecond : undefined
  const cpu = edgeCpu(r)
  const queue = r.queue
  const queueElsewhere = queue && queue.count < TARGETS.queueEvents && large ? large : undefined
  const samples = (id: SystemId) => r.latency[id]?.lastNode.n ?? 0
  return {
    addedLatency: a && b ? added(a.lastNode, b.lastNode) : undefined,
    // The gossip hop adds 0–100 ms of timer phase to every sample; node-0 shows the path alone.
    addedLatencyAtNode0: a && b ? added(a.firstNode, b.firstNode) : undefined,
    burstShare:
      edgeBurst && best && share !== undefined
        ? {
            limitPercent: TARGETS.burstSharePercent,
            share: fmt(share),
            edge: fmt(edgeBurst.eventsPerSecond),
            best: fmt(best.eventsPerSecond),
            verdict: verdict(share >= TARGETS.burstSharePercent),
          }
        : undefined,
    burstShareUnmeasured: edgeBurst && !best ? { limitPercent: TARGETS.burstSharePercent } : undefined,
    burstLoss: edgeBurst
      ? {
          lost: edgeBurst.count - edgeBurst.onEveryNode,
          count: edgeBurst.count,
          verdict: verdict(edgeBurst.count === edgeBurst.onEveryNode),
        }
      : undefined,
    burstSize: edgeBurst
      ? {
          limit: grouped(TARGETS.burstEvents),
          count: edgeBurst.count,
          verdict: verdict(edgeBurst.count >= TARGETS.burstEvents),
        }
      : undefined,
    edgeCpu: cpu
      ? { limitMs: TARGETS.freeCpuMs, worst: fmt(cpu.worst, 2), net: fmt(cpu.net, 2), verdict: cpuVerdict(cpu) }
      : undefined,
    queueInSeparateRun:
      queue && queueElsewhere
        ? {
            limit: grouped(TARGETS.queueEvents),
            count: queue.count,
            largeCount: grouped(queueElsewhere.count),
            queueMinutes: fmt(queueElsewhere.queueSeconds / 60),
            drainMinutes: fmt(queueElsewhere.drainSeconds / 60),
            bridgeArgs: queueElsewhere.bridgeArgs || 'default bridge flags',
            verdict: verdict(queueElsewhere.count >= TARGETS.queueEvents),
          }
        : undefined,
    queueSize:
      queue && !queueElsewhere
        ? {
            limit: grouped(TARGETS.queueEvents),
            count: queue.count,
            verdict: verdict(queue.count >= TARGETS.queueEvents),
          }
        : undefined,
    latencySamples: o.figures.includes('latency')
      ? {
          limit: TARGETS.latencySamples,
          perSystem: SYSTEMS.map((id) => `${SHORT_LABELS[id]}: ${samples(id)}`).join(', '),
          verdict: verdict(SYSTEMS.every((id) => samples(id) >= TARGETS.latencySamples)),
        }
      : undefined,
  }
}
