/**
 * `npm run bench`: the side-by-side benchmarks. Starts every process it measures (Serf
 * clusters, wrangler dev, agent-bridge, webhook), runs the figures, stops every process by pid
 * (also on failure or Ctrl-C), and writes docs/BENCHMARKS.md with SVG charts beside it.
 * `npm run bench -- --help` lists the flags.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { stopAllBridges } from '../scripts/harness/bridge.ts'
import { type LocalEdge, startEdge, stopAllEdges } from '../scripts/harness/local-edge.ts'
import { stopAllAgents } from '../scripts/harness/serf.ts'
import { concurrentSubmitter, findLossFreeRate, pipelinedSubmitter, runBurst } from './burst.ts'
import { buildRecorder, ClusterArrivals, startRecordingCluster, startSilentCluster } from './cluster.ts'
import { edgeBaselineTarget, edgeTarget, measureIngest, webhookTarget } from './ingest.ts'
import { measureLatency } from './latency.ts'
import { insideLossNamespace, rerunInLossNamespace } from './netns.ts'
import { type BenchOptions, type Figure, HELP, parseOptions } from './options.ts'
import { PACE_SCENARIOS, paceEdgeCluster, runPaceScenario } from './pace.ts'
import { savePaceRecord } from './pace-results.ts'
import { machineFacts } from './proc.ts'
import { measureQueueScale } from './queue-scale.ts'
import { writeReport } from './report.ts'
import type { BenchResults } from './results.ts'
import { nowMs } from './stats.ts'
import { bridgeSettings, directSystem, type EventSystem, edgeSystem, type SystemId, webhookSystem } from './systems.ts'
import { unitBridge } from './unit-settings.ts'
import { ensureWebhook, startWebhook, stopAllWebhooks } from './webhook.ts'

let interrupted = false

/** Throws once the bench was interrupted, so no further phase starts a process. */
function checkpoint(): void {
  if (interrupted) throw new Error('interrupted')
}

const log = (line: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`)

/** Stop what the bench started; should the bench die first, the harness kills it at exit. */
async function stopEverything(): Promise<void> {
  await Promise.allSettled([stopAllBridges(), stopAllWebhooks()])
  await Promise.allSettled([stopAllEdges(), stopAllAgents()])
}

/** Figures 1, 2 and 4 for one system, on a fresh recording cluster. */
async function runSystem(
  id: SystemId,
  o: BenchOptions,
  r: BenchResults,
  ctx: { dir: string; recorder: string; edge?: LocalEdge; webhook?: { path: string; serf: string } },
) {
  log(`${id}: starting a fresh 3-node Serf cluster`)
  const cluster = await startRecordingCluster(join(ctx.dir, `serf-${id}`), ctx.recorder)
  const arrivals = new ClusterArrivals(cluster)
  let system: EventSystem | undefined
  let bridgePid: number | undefined
  try {
    if (id === 'direct') system = await directSystem(cluster)
    else if (id === 'edge') {
      const edge = edgeSystem(ctx.edge!, 'bench', cluster, join(ctx.dir, 'bench.cursor.json'), o.bridgeArgs)
      system = edge
      bridgePid = edge.bridge.pid
      await edge.bridge.waitForLog(/connected to the Serf agent/)
    } else {
      const server = await startWebhook({
        binary: ctx.webhook!.path,
        serfBinary: ctx.webhook!.serf,
        dir: join(ctx.dir, 'serf-webhook'),
        rpcAddr: cluster.agents[0]!.rpcAddr,
      })
      system = webhookSystem(server, 'bench')
    }
    checkpoint()
    if (o.figures.includes('latency')) {
      log(`${id}: latency, ${o.samples} sequential samples`)
      const result = await measureLatency(system, arrivals, { samples: o.samples })
      r.latency[id] = result
      log(
        `${id}: end-to-end median ${result.lastNode.median.toFixed(1)} ms, p99 ${result.lastNode.p99.toFixed(1)} ms, lost ${result.lost}`,
      )
    }
    checkpoint()
    if (o.figures.includes('burst')) {
      if (id === 'direct') {
        log(`direct: searching the cluster's loss-free rate, ${o.stepSize} events per step`)
        r.rateSearch = await findLossFreeRate(system, cluster, arrivals, {
          rates: o.stepRates,
          stepSize: o.stepSize,
          log,
        })
      }
      checkpoint()
      log(`${id}: burst of ${o.burst}`)
      const submit = id === 'direct' ? pipelinedSubmitter(system) : concurrentSubmitter(system, o.burstConcurrency)
      const mode = id === 'direct' ? 'unpaced, one pipelined connection' : `${o.burstConcurrency} concurrent senders`
      const run = await runBurst(id, cluster, arrivals, {
        count: o.burst,
        name: `burst-${id}`,
        mode,
        submit,
        watchPid: bridgePid,
      })
      r.bursts.push(run)
      log(
        `${id}: ${run.onEveryNode}/${run.count} on every node, ${run.eventsPerSecond.toFixed(1)} events/s, accepted in ${run.submitSeconds.toFixed(1)} s`,
      )
    }
  } finally {
    await system?.stop().catch(() => {})
    await arrivals.close()
    await cluster.stop()
  }
}

async function main(argv: string[]): Promise<number> {
  let o: BenchOptions | 'help'
  try {
    o = parseOptions(argv)
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${HELP}`)
    return 1
  }
  if (o === 'help') {
    process.stdout.write(HELP)
    return 0
  }
  if (o.fromJson) {
    // Only the report is written again, from a run's raw numbers (e.g. after changing report.ts).
    const saved = JSON.parse(await readFile(o.fromJson, 'utf8')) as { options: BenchOptions; results: BenchResults }
    const written = await writeReport(saved.results, { ...saved.options, report: o.report })
    log(`wrote ${written.join(', ')} from ${o.fromJson}`)
    return 0
  }
  const loss = o.figures.includes('pace') ? Math.max(0, ...o.pace.map((s) => s.udpLossPercent)) : 0
  if (loss > 0 && !insideLossNamespace()) return rerunInLossNamespace(loss, log)
  const started = nowMs()
  const dir = await mkdtemp(join(tmpdir(), 'serf-edge-bench-'))
  const r: BenchResults = {
    facts: machineFacts(),
    latency: {},
    bursts: [],
    ingest: [],
    loadAverages: [],
    phases: [],
    totalSeconds: 0,
    finishedAt: '',
  }
  const failures: string[] = []
  let phaseStart = nowMs()
  const load = (when: string) => {
    r.loadAverages.push({ when, load: machineFacts().loadAverage })
    r.phases.push({ name: when, seconds: (nowMs() - phaseStart) / 1000 })
    phaseStart = nowMs()
  }
  // Stopping the processes makes the running figure fail fast; the finally below then cleans
  // up as after any failure. A second signal, or 30 s without progress, exits at once.
  const onSignal = () => {
    if (interrupted) process.exit(130)
    interrupted = true
    log('interrupted: stopping every process the bench started')
    setTimeout(() => process.exit(130), 30_000).unref()
    void stopEverything()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  log(`temporary folder ${dir}; figures: ${o.figures.join(', ')}`)
  try {
    const needs = (...figures: Figure[]) => figures.some((figure) => o.figures.includes(figure))
    const recorder = needs('latency', 'burst', 'pace') ? await buildRecorder(dir) : undefined
    r.recorder = recorder ? 'compiled bench/recorder.c' : undefined
    const webhook = needs('latency', 'burst', 'ingest') ? await ensureWebhook(log) : undefined
    r.webhookVersion = webhook?.version
    r.facts = machineFacts(webhook?.version)
    r.bridgeSettings = await bridgeSettings(o.bridgeArgs)
    r.bridgeProcess = unitBridge()
    load('setup')
    // Every figure uses the edge: system A, its ingest, its queue.
    log('starting the edge (wrangler dev, local workerd)')
    const base = { userEventSizeLimit: 512, maxEventAge: '1h', bridgeLeaseTtl: '10s', maxQueuedEvents: 1_000_000 }
    const edge = await startEdge({
      dir: join(dir, 'edge'),
      clusters: {
        bench: base,
        ingest: base,
        scale: { ...base, retention: '10m' },
        ...Object.fromEntries(o.pace.map((scenario) => [paceEdgeCluster(scenario), base])),
      },
    })
    load('edge started')
    if (needs('latency', 'burst')) {
      for (const id of o.systems) {
        checkpoint()
        await runSystem(id, o, r, { dir, recorder: recorder!, edge, webhook })
        load(`${id}: latency + burst`)
      }
    }
    checkpoint()
    if (needs('ingest')) {
      log('ingest: the edge (queue only, no bridge)')
      for (const concurrency of o.concurrency)
        r.ingest.push(await measureIngest(edgeTarget(edge, 'ingest'), concurrency, o.ingestSeconds))
      r.ingest.push(await measureIngest(edgeBaselineTarget(edge), o.concurrency[0]!, Math.min(o.ingestSeconds, 5)))
      log('ingest: the webhook (serf event per request, one agent without handlers)')
      const agent = await startSilentCluster(join(dir, 'serf-ingest'), 1)
      const server = await startWebhook({
        binary: webhook!.path,
        serfBinary: webhook!.serf,
        dir: join(dir, 'serf-ingest'),
        rpcAddr: agent.agents[0]!.rpcAddr,
      })
      try {
        for (const concurrency of o.concurrency)
          r.ingest.push(await measureIngest(webhookTarget(server, 'ingest'), concurrency, o.ingestSeconds))
      } finally {
        await server.stop()
        await agent.stop()
      }
      for (const run of r.ingest)
        log(
          `ingest ${run.system} ×${run.concurrency}: ${run.requestsPerSecond.toFixed(0)} req/s, p99 ${run.latency.p99.toFixed(1)} ms`,
        )
      load('ingest')
    }
    checkpoint()
    if (needs('queue')) {
      log(`queue scale: ${o.queue} events, then the bridge drains them into 3 agents without handlers`)
      const cluster = await startSilentCluster(join(dir, 'serf-scale'))
      try {
        r.queue = await measureQueueScale({
          edge,
          edgeDir: join(dir, 'edge'),
          edgeCluster: 'scale',
          cluster,
          cursorFile: join(dir, 'scale.cursor.json'),
          count: o.queue,
          concurrency: o.queueConcurrency,
          waitForPrune: o.waitPrune,
          retentionMs: 10 * 60_000,
          bridgeArgs: o.bridgeArgs,
          log,
        })
      } finally {
        await cluster.stop()
      }
      load('queue scale')
    }
    if (needs('pace')) {
      const netns = insideLossNamespace()
      for (const scenario of o.pace) {
        checkpoint()
        log(`pace ${scenario.id}: ${scenario.events} events, ${scenario.title}${netns ? ` (in ${netns.name})` : ''}`)
        try {
          const run = await runPaceScenario(scenario, {
            edge,
            edgeCluster: paceEdgeCluster(scenario),
            dir,
            recorder: recorder!,
            log,
          })
          await savePaceRecord(
            o.paceResults,
            { run, facts: machineFacts(), argv: o.argv, note: o.paceNote },
            PACE_SCENARIOS.map((s) => s.id),
          )
          log(
            `pace ${scenario.id}: ${run.onEveryNode}/${run.count} on every node in ${run.deliverySeconds.toFixed(1)} s, ` +
              `${(run.whileQueued?.rate ?? run.achievedRate).toFixed(2)}/s while queued = ${(run.ratio * 100).toFixed(1)} % of the repair-safe ${run.repairSafeRate.toFixed(1)}/s; ` +
              `lost per node ${run.lostPerNode.join('/')}, duplicates ${run.duplicates}; saved to ${o.paceResults}`,
          )
        } catch (error) {
          if (interrupted) throw error
          log(`pace ${scenario.id} failed: ${(error as Error).stack ?? (error as Error).message}`)
          failures.push(scenario.id)
        }
        load(`pace ${scenario.id}`)
      }
    }
  } finally {
    await stopEverything()
    if (!o.keep) await rm(dir, { recursive: true, force: true })
  }
  r.totalSeconds = (nowMs() - started) / 1000
  r.finishedAt = new Date().toISOString()
  if (o.figures.every((figure) => figure === 'pace')) {
    // Its numbers are in --pace-results; the report is written again from the last full run's.
    const full = join(dirname(o.report), 'bench-results.json')
    if (!existsSync(full)) {
      log(
        `done in ${(r.totalSeconds / 60).toFixed(1)} min; pace results in ${o.paceResults} (no ${full} to report with)`,
      )
      return failures.length ? 1 : 0
    }
    const saved = JSON.parse(await readFile(full, 'utf8')) as { options: BenchOptions; results: BenchResults }
    const written = await writeReport(saved.results, { ...saved.options, report: o.report })
    log(`done in ${(r.totalSeconds / 60).toFixed(1)} min; wrote ${written.join(', ')} from ${full}`)
    return failures.length ? 1 : 0
  }
  const written = await writeReport(r, o)
  log(`done in ${(r.totalSeconds / 60).toFixed(1)} min; wrote ${written.join(', ')}`)
  return 0
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2)).catch((error: Error) => {
    if (interrupted) return 130
    process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`)
    return 1
  })
}
