/** The SVG charts of the report, named `<prefix>-<figure>.svg`. */
import { type BenchResults, SYSTEMS } from './results.ts'
import { barChart, cdfChart } from './svg.ts'
import { SHORT_LABELS, type SystemId } from './systems.ts'

export function renderCharts(r: BenchResults, prefix: string): Record<string, string> {
  const charts: Record<string, string> = {}
  const measured = SYSTEMS.filter((id) => r.latency[id])
  if (measured.length) {
    charts[`${prefix}-latency.svg`] = barChart({
      title: 'Figure 1: end-to-end latency, one event at a time (lower is better)',
      unit: 'ms',
      series: ['median', 'p99'],
      groups: measured.map((id) => ({
        label: SHORT_LABELS[id],
        values: [r.latency[id]!.lastNode.median, r.latency[id]!.lastNode.p99],
      })),
    })
    charts[`${prefix}-latency-cdf.svg`] = cdfChart({
      title: 'Figure 1: end-to-end latency distribution',
      xLabel: 'ms from sender start to the recorder on the last of 3 nodes',
      series: measured.map((id) => ({ label: SHORT_LABELS[id], values: r.latency[id]!.endToEnd })),
    })
  }
  const bursts = [...r.bursts]
  if (r.rateSearch?.best) bursts.splice(1, 0, r.rateSearch.best)
  if (bursts.length) {
    charts[`${prefix}-burst.svg`] = barChart({
      title: 'Figure 2: burst delivery to every node (higher is better)',
      unit: 'events/s',
      series: ['events/s that reached all 3 nodes'],
      groups: bursts.map((run) => ({
        label: run === r.rateSearch?.best ? `B capped, best loss-free` : SHORT_LABELS[run.system],
        values: [run.eventsPerSecond],
        note: `${((100 * run.onEveryNode) / run.count).toFixed(1)} % of ${run.count} reached all`,
      })),
    })
  }
  if (r.ingest.length) {
    const levels = [...new Set(r.ingest.map((run) => run.concurrency))]
    const systems = [...new Set(r.ingest.map((run) => run.system))].filter(
      (system): system is SystemId => system !== 'edge-baseline',
    )
    const find = (system: SystemId | 'edge-baseline', concurrency: number) =>
      r.ingest.find((run) => run.system === system && run.concurrency === concurrency)
    charts[`${prefix}-ingest.svg`] = barChart({
      title: 'Figure 3: signed requests accepted per second (higher is better)',
      unit: 'req/s',
      series: levels.map((c) => `${c} senders`),
      groups: systems.map((system) => ({
        label: SHORT_LABELS[system],
        values: levels.map((c) => find(system, c)?.requestsPerSecond),
      })),
    })
    charts[`${prefix}-ingest-cpu.svg`] = barChart({
      title: 'Figure 3: server CPU per accepted request',
      unit: 'ms',
      series: levels.map((c) => `${c} senders`),
      groups: [...systems, 'edge-baseline' as const].map((system) => ({
        label:
          system === 'edge' ? 'A workerd' : system === 'webhook' ? 'C webhook + serf event' : 'A workerd, GET / only',
        values: levels.map((c) => {
          const run = find(system, c)
          return run
            ? Object.entries(run.cpuMsPerRequest)
                .filter(([name]) => name !== 'wrangler (node)')
                .reduce((sum, [, ms]) => sum + ms, 0)
            : undefined
        }),
      })),
      reference: { value: 10, label: 'Cloudflare free plan: 10 ms CPU' },
    })
  }
  if (r.queue) {
    charts[`${prefix}-queue.svg`] = barChart({
      title: `Figure 5: Durable Object SQLite for ${r.queue.count} events`,
      unit: 'KiB',
      series: ['file + WAL', 'live pages'],
      groups: r.queue.storage.map((s) => ({
        label: s.label.replace(/ \(.*\)$/, ''),
        values: [s.fileBytes / 1024, s.facts ? s.facts.liveBytes / 1024 : undefined],
      })),
    })
  }
  return charts
}
