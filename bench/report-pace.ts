/**
 * The section "Pacing against the repair-safe rate" of docs/BENCHMARKS.md, from the pace
 * figure's raw numbers (docs/BENCHMARKS-pace-results.json, bench/pace-results.ts): one row per
 * scenario measured, its verdicts against the issue's targets (≥ 90 % of the repair-safe rate,
 * 0 lost), and for the shortened backlog what 100,000 events would take at the rate measured.
 */
import { PACE_SCENARIOS } from './pace.ts'
import type { PaceRecord, PaceResults } from './pace-results.ts'
import { grouped, isNoisy, verdict } from './report-verdicts.ts'
import { fmt } from './stats.ts'

/** The issue's bar: delivery at ≥ 90 % of the cluster's repair-safe rate, nothing lost. */
export const PACE_TARGET_SHARE = 0.9
const FULL_BACKLOG = 100_000

/** The count, and the scenario's own size when the run was made smaller. */
function shortened(count: number, id: string): string {
  const full = PACE_SCENARIOS.find((s) => s.id === id)?.events
  return full && count < full ? `${grouped(count)} (of ${grouped(full)})` : grouped(count)
}

function row({ run, facts }: PaceRecord) {
  const s = run.scenario
  const lost = run.lostPerNode.reduce((a, b) => a + b, 0)
  const maxLoad = Math.max(...run.load, facts.loadAverage[0] ?? 0)
  return {
    id: s.id,
    title: s.title,
    events: shortened(run.count, s.id),
    repairSafe: fmt(run.repairSafeRate),
    achieved: fmt(run.achievedRate, 2),
    flow: fmt(run.flowRate, 2),
    ratio: `${fmt(100 * run.ratio)} %`,
    ofPace: `${fmt((100 * run.achievedRate) / run.designPace)} %`,
    lostPerNode: run.lostPerNode.join(' / '),
    duplicates: run.duplicates,
    duration: `${fmt(run.deliverySeconds / 60)} min`,
    load: `${fmt(run.load[0], 1)} → ${fmt(run.load[1], 1)}${isNoisy(maxLoad, facts.cores) ? ' (busy)' : ''}`,
    rateVerdict: verdict(run.ratio >= PACE_TARGET_SHARE),
    lossVerdict: verdict(lost === 0 && run.onEveryNode === run.count),
  }
}

/** The section's Markdown, or undefined when no pace scenario was measured. */
export function paceSection(results: PaceResults | undefined): string | undefined {
  if (!results || results.records.length === 0) return undefined
  const records = results.records
  const lines: string[] = []
  const say = (...text: string[]) => lines.push(...text)
  const facts = records[0]!.facts
  say(
    '## 8. Pacing against the repair-safe rate',
    '',
    "The bridge's pace follows the cluster it serves (agent-bridge/gossip-limits.ts): Serf repairs a",
    "missed event only while it is among the sender's newest 512 at a push/pull exchange, so the",
    'repair-safe rate is 512 / push/pull interval (34.1/s `local`, 17.1/s `lan` up to 32 members),',
    'and the bridge keeps 90 % of it by design. Each scenario below is a fresh cluster, the bridge',
    "with its defaults and `-gossip-profile` set to the agents' `-profile`, events queued through",
    "the sender SDK, and every node's recorder counted. **Ratio** is delivered-on-every-node per",
    "second (from the first submission, or for the backlog from the bridge's start, to the last",
    "handler run on any node) over the cluster's repair-safe rate; **flow** is the same rate from",
    'first to last arrival; **of the pace** is the delivered rate over the 90 % the bridge aims at.',
    'Target of issue 12: ratio ≥ 90 % and 0 lost. Since the pace is 90 % by design, any start-up',
    'time or slack puts the ratio just under the bar.',
    '',
    `Measured with \`npm run bench -- --only=pace\` on ${facts.cpuModel}, ${facts.cores} cores,`,
    `${fmt(facts.memoryGiB)} GiB, Serf ${facts.serf}; raw numbers: \`BENCHMARKS-pace-results.json\`.`,
    'Each scenario ran once. What else ran on the machine is said under each row; **load** is the',
    '1-minute load average at the scenario\'s start and end, "(busy)" above ¾ of the cores.',
    '',
    '| scenario | events | repair-safe | delivered | flow | ratio | of the pace | lost per node | duplicates | duration | load (1 min) | ≥ 90 % | 0 lost |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  )
  for (const record of records) {
    const r = row(record)
    say(
      `| \`${r.id}\`: ${r.title} | ${r.events} | ${r.repairSafe}/s | ${r.achieved}/s | ${r.flow}/s | ${r.ratio} | ${r.ofPace} | ${r.lostPerNode} | ${r.duplicates} | ${r.duration} | ${r.load} | ${r.rateVerdict} | ${r.lossVerdict} |`,
    )
  }
  say('')
  for (const { run, note } of records) {
    const s = run.scenario
    const facts: string[] = []
    if (run.paceLog) facts.push(`the bridge said: “${run.paceLog}”`)
    facts.push(
      `node-0's slowest and fastest 10-s windows ${fmt(run.windowRates.min)}/s and ${fmt(run.windowRates.max)}/s`,
    )
    if (run.slowStatsAnswers !== undefined && run.handlerThroughput === undefined)
      facts.push(`${run.slowStatsAnswers} \`stats\` answers over 250 ms (each halves the pace)`)
    if (run.pacingWaits !== undefined) facts.push(`${run.pacingWaits} waits for Serf's event queue`)
    if (run.oldEventDrops.some((n) => n > 0))
      facts.push(`\`received old event\` per node ${run.oldEventDrops.join(' / ')}`)
    if (run.udp)
      facts.push(
        `${grouped(run.udp.dropped)} of ${grouped(run.udp.sent)} UDP packets dropped (${fmt((100 * run.udp.dropped) / Math.max(1, run.udp.sent), 2)} %)`,
      )
    if (!s.backlog) {
      const queueRate = run.count / run.queueSeconds
      facts.push(
        `the senders queued the ${grouped(run.count)} events in ${fmt(run.queueSeconds)} s (${fmt(queueRate)}/s)` +
          (queueRate < run.designPace
            ? ", slower than the pace: the edge's intake, not the bridge, bounded the delivered rate"
            : ''),
      )
    }
    if (run.handlerThroughput !== undefined) {
      const above = run.designPace > run.handlerThroughput
      const halved = run.slowStatsAnswers
      facts.push(
        `one node's handler alone, run back to back from Node, took ${fmt(run.handlerThroughput)} events/s here, ` +
          `so the pace (${fmt(run.designPace)}/s) was ${above ? 'above' : 'below'} it` +
          (run.flowRate > run.handlerThroughput
            ? ` (Serf's own handler runs reached ${fmt(run.flowRate)}/s on every node, so the probe understates them)`
            : '') +
          '; ' +
          (halved === undefined
            ? 'whether the pacer halved is unknown'
            : halved === 0
              ? "the pacer never halved (no `stats` answer over 250 ms): Serf's handler channels took up the lag"
              : `the pacer halved ${halved} times (\`stats\` answers over 250 ms)`),
      )
    }
    if (s.backlog && !s.handlerSleepMs)
      facts.push(
        `queued in ${fmt(run.queueSeconds)} s before the bridge started; at ${fmt(run.achievedRate, 2)}/s ` +
          `${grouped(FULL_BACKLOG)} events would take ${fmt(FULL_BACKLOG / run.achievedRate / 60)} min ` +
          `(extrapolated, not measured)`,
      )
    if (run.stalled) facts.push('stopped waiting after two push/pull intervals without an arrival')
    facts.push(`bridge peak RSS ${fmt(run.bridgePeakRssMiB)} MiB, ${fmt(run.bridgeCpuSeconds)} CPU s`)
    say(`- \`${s.id}\` (${run.startedAt.slice(0, 16).replace('T', ' ')} UTC): ${facts.join('; ')}.`)
    if (note) say(`  Alongside: ${note}`)
  }
  const missing = PACE_SCENARIOS.filter((s) => !records.some((r) => r.run.scenario.id === s.id))
  if (missing.length)
    say('', `Not measured in these runs: ${missing.map((s) => `\`${s.id}\` (${s.title})`).join(', ')}.`)
  say('')
  return lines.join('\n')
}
