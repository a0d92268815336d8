/**
 * The `pace` figure: does the bridge deliver at the repair-safe rate of the cluster it serves
 * (agent-bridge/gossip-limits.ts), and lose nothing? Each scenario starts its own Serf cluster
 * (profile, size, handler), queues non-coalesced events at the edge, lets the bridge deliver
 * them with its defaults (`-gossip-profile` the agents' own), and counts what every node's
 * recorder ran for. The rate compared with `repairSafeRate` of that cluster (512 per push/pull
 * interval, of which the bridge keeps {@link LIMIT_SHARE} by design) is the bridge's delivery
 * rate while it had work queued (bench/queued-rate.ts): a local edge under load can take events
 * in slower than the bridge delivers them, and a rate over the whole burst would measure that
 * intake. The 10,000-event bursts therefore start the bridge once 30 % of them are queued, the
 * senders going on meanwhile, so the queue stays ahead; the intake rate is reported alongside.
 *
 * Opt-in (`--only=pace`): the scenarios run for minutes each at 16–32 events/s. A scenario with
 * UDP loss runs the whole bench inside a network namespace whose nftables drops that share of
 * UDP packets (bench/netns.ts).
 */
import { spawn } from 'node:child_process'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { type GossipProfile, LIMIT_SHARE, pushPullIntervalMs, repairSafeRate } from '../agent-bridge/gossip-limits.ts'
import { startBridge } from '../scripts/harness/bridge.ts'
import { fireBurst } from '../scripts/harness/fire.ts'
import type { LocalEdge } from '../scripts/harness/local-edge.ts'
import { startSerfCluster } from '../scripts/harness/serf.ts'
import { runBurst } from './burst.ts'
import { ClusterArrivals } from './cluster.ts'
import { udpCounters } from './netns.ts'
import { cpuSeconds, statusKiB } from './proc.ts'
import { type QueuedDelivery, queuedDelivery } from './queued-rate.ts'
import { nowMs } from './stats.ts'

export interface PaceScenario {
  id: string
  /** What the issue asks of it, in a few words. */
  title: string
  nodes: number
  profile: GossipProfile
  /** Events fired (a burst) or queued before the bridge starts (a backlog). */
  events: number
  /** Percent of UDP packets dropped (nftables in a network namespace); 0 for none. */
  udpLossPercent: number
  /** Each handler sleeps this long before it records the event; 0 for the bare recorder. */
  handlerSleepMs: number
  /** Queue every event with the bridge stopped, then start it: a backlog drain. */
  backlog: boolean
  /**
   * A burst whose bridge starts once this share of its events is queued (the senders go on), so
   * the edge's intake does not bound the delivery; 0 or absent: the bridge is up before.
   */
  headStartShare?: number
  /** What the target is for this scenario, when the run is a shortened stand-in. */
  target?: string
}

/** In the priority order; `--pace=ID,…` picks some, `--pace-events` shrinks them. */
export const PACE_SCENARIOS: readonly PaceScenario[] = [
  {
    id: 'local-3',
    title: 'burst, 3 nodes, `local` profile',
    nodes: 3,
    profile: 'local',
    events: 10_000,
    udpLossPercent: 0,
    handlerSleepMs: 0,
    backlog: false,
    headStartShare: 0.3,
  },
  {
    id: 'lan-3-loss',
    title: 'burst, 3 nodes, `lan` profile, 2 % of UDP dropped',
    nodes: 3,
    profile: 'lan',
    events: 10_000,
    udpLossPercent: 2,
    handlerSleepMs: 0,
    backlog: false,
    headStartShare: 0.3,
  },
  {
    id: 'slow-handlers',
    title: 'burst, 3 nodes, `local`, handlers that take 20 ms',
    nodes: 3,
    profile: 'local',
    events: 3_000,
    udpLossPercent: 0,
    handlerSleepMs: 20,
    backlog: false,
  },
  {
    // The same handlers with the intake out of the way: queued first, so only the pace and the
    // handlers set the rate, and the lag can outgrow Serf's ~3,100-event handler channels.
    id: 'slow-handlers-backlog',
    title: 'backlog, 3 nodes, `local`, handlers that take 20 ms',
    nodes: 3,
    profile: 'local',
    events: 8_000,
    udpLossPercent: 0,
    handlerSleepMs: 20,
    backlog: true,
  },
  {
    // Handlers slower than the pace: the lag outgrows Serf's handler channels on every node, the
    // bridge's own agent blocks in the `event` RPC, and its slow `stats` answers halve the pace.
    id: 'slower-handlers',
    title: 'backlog, 3 nodes, `local`, handlers that take 100 ms (slower than the pace)',
    nodes: 3,
    profile: 'local',
    events: 6_000,
    udpLossPercent: 0,
    handlerSleepMs: 100,
    backlog: true,
  },
  {
    id: 'local-10',
    title: 'burst, 10 nodes, `local` profile',
    nodes: 10,
    profile: 'local',
    events: 10_000,
    udpLossPercent: 0,
    handlerSleepMs: 0,
    backlog: false,
    headStartShare: 0.3,
  },
  {
    id: 'backlog',
    title: 'backlog queued before the bridge starts, 3 nodes, `local`',
    nodes: 3,
    profile: 'local',
    events: 100_000,
    udpLossPercent: 0,
    handlerSleepMs: 0,
    backlog: true,
  },
]

export interface PaceRun {
  scenario: PaceScenario
  /** ISO time the scenario started. */
  startedAt: string
  /** 1-minute load average at the start and at the end. */
  load: [number, number]
  /** `repairSafeRate(profile, nodes)`: 512 events per push/pull interval. */
  repairSafeRate: number
  /** What the bridge keeps by design: {@link LIMIT_SHARE} of it. */
  designPace: number
  /** The bridge's own log line naming its pace. */
  paceLog: string | undefined
  /** Events accepted by the edge. */
  count: number
  submitErrors: number
  /** Seconds to queue them: during the delivery (burst) or before the bridge started (backlog). */
  queueSeconds: number
  /** Burst: sender start → last recorder run; backlog: bridge spawned → last recorder run. */
  deliverySeconds: number
  /** First event's first arrival → last arrival, on any node. */
  flowSeconds: number
  /** Events that reached every node. */
  onEveryNode: number
  /** `onEveryNode / deliverySeconds`. */
  achievedRate: number
  /** `(onEveryNode - 1) / flowSeconds`: the pace once events flow, without start-up. */
  flowRate: number
  /** Events queued before the bridge started, in a burst with a head start. */
  headStart?: number
  /**
   * The bridge's delivery while it had work queued, from its start (bench/queued-rate.ts);
   * absent in runs recorded before it was measured (their backlogs: `achievedRate`).
   */
  whileQueued?: QueuedDelivery
  /** `whileQueued.rate / repairSafeRate`: the target is ≥ 0.9. */
  ratio: number
  /** Events each node's handler never ran for. */
  lostPerNode: number[]
  duplicates: number
  oldEventDrops: number[]
  stalled: boolean
  /** The slowest and fastest 10-second windows of node-0's arrivals, events/s. */
  windowRates: { min: number; max: number }
  /** `stats` answers slower than 250 ms (each halves the bridge's rate), from its histogram. */
  slowStatsAnswers?: number
  /** The bridge's waits for Serf's event queue. */
  pacingWaits?: number
  /** Times a slow `stats` answer halved the bridge's pace, and the lowest rate it fell to. */
  backoffs?: number
  lowestRate?: number
  /** One node's handler, run alone back to back: events/s it can take (slow-handler scenario). */
  handlerThroughput?: number
  /** UDP packets sent and dropped by the loss rule during the scenario (lossy runs only). */
  udp?: { sent: number; dropped: number }
  bridgePeakRssMiB: number
  bridgeCpuSeconds: number
}

export interface PaceContext {
  edge: LocalEdge
  /** Edge cluster id for this scenario (configured at the edge). */
  edgeCluster: string
  dir: string
  recorder: string
  log: (line: string) => void
}

/** Events accepted and not yet at any node for the bridge to count as having work queued: 2 s of the pace. */
const QUEUED_MIN_BACKLOG = 64

/** The edge cluster each scenario uses. */
export const paceEdgeCluster = (scenario: PaceScenario) => `pace-${scenario.id}`

/** The event handler entry of a scenario: the recorder, after a sleep if it asks for one. */
function handlerEntry(scenario: PaceScenario, recorder: string): string {
  if (!scenario.handlerSleepMs) return `user=exec ${recorder}`
  return `user=sleep ${scenario.handlerSleepMs / 1000}; exec ${recorder}`
}

/** Events/s one handler entry takes when run back to back, as Serf runs them on one node. */
async function measureHandler(entry: string, dir: string): Promise<number> {
  const command = entry.slice('user='.length)
  const env = {
    ...process.env,
    SERF_TEST_EVENTS_FILE: join(dir, 'handler-probe.tsv'),
    SERF_USER_EVENT: 'probe',
    SERF_USER_LTIME: '1',
  }
  const runs = 50
  const started = nowMs()
  for (let i = 0; i < runs; i++) {
    // Serf writes the payload and closes stdin; the recorder reads to EOF, so stdin must end.
    const child = spawn('/bin/sh', ['-c', command], { env, stdio: ['ignore', 'ignore', 'ignore'] })
    await new Promise((resolve) => child.on('exit', resolve))
  }
  return runs / ((nowMs() - started) / 1000)
}

/** Arrivals per 10-second window at one node, slowest and fastest full windows. */
function windowRates(times: number[]): { min: number; max: number } {
  if (times.length < 2) return { min: 0, max: 0 }
  const sorted = [...times].sort((a, b) => a - b)
  const first = sorted[0]!
  const windows = Math.floor((sorted.at(-1)! - first) / 10_000)
  if (windows < 1) return { min: 0, max: 0 }
  const counts = new Array<number>(windows).fill(0)
  for (const t of sorted) {
    const w = Math.floor((t - first) / 10_000)
    if (w < windows) counts[w]!++
  }
  return { min: Math.min(...counts) / 10, max: Math.max(...counts) / 10 }
}

/** Count of `stats` RPCs slower than 250 ms, from the bridge's latency histogram. */
function slowStats(metrics: string): number | undefined {
  // prom-client writes `…_bucket{le="0.25",command="stats"} 12`: labels in either order.
  const bucket = (le: string) => {
    const line = metrics
      .split('\n')
      .find(
        (l) =>
          l.startsWith('serf_edge_bridge_rpc_latency_seconds_bucket{') &&
          l.includes('command="stats"') &&
          l.includes(`le="${le}"`),
      )
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined
  }
  const within = bucket('0.25')
  const all = bucket('+Inf')
  return within === undefined || all === undefined ? undefined : all - within
}

function unlabelled(metrics: string, name: string): number | undefined {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)
  return match ? Number(match[1]) : undefined
}

/** Run one scenario on a fresh cluster; every process it starts is stopped before it returns. */
export async function runPaceScenario(scenario: PaceScenario, ctx: PaceContext): Promise<PaceRun> {
  const { log } = ctx
  const startedAt = new Date().toISOString()
  const loadStart = loadavg()[0]!
  const dir = join(ctx.dir, `pace-${scenario.id}`)
  const entry = handlerEntry(scenario, ctx.recorder)
  const handlerThroughput = scenario.handlerSleepMs ? await measureHandler(entry, ctx.dir) : undefined
  if (handlerThroughput) log(`  one handler alone, back to back: ${handlerThroughput.toFixed(1)} events/s`)
  log(`  starting ${scenario.nodes} agents, -profile=${scenario.profile}`)
  const cluster = await startSerfCluster({
    dir,
    nodes: scenario.nodes,
    profile: scenario.profile,
    logLevel: 'info',
    eventHandlerScript: entry,
    readyTimeoutMs: 60_000,
  })
  const arrivals = new ClusterArrivals(cluster)
  const edgeCluster = paceEdgeCluster(scenario)
  const name = `pace-${scenario.id}`
  const startBridgeNow = () =>
    startBridge({
      edgeUrl: ctx.edge.url,
      cluster: edgeCluster,
      bridgeKey: ctx.edge.bridgeKeys[edgeCluster]!,
      rpcAddr: cluster.agents[0]!.rpcAddr,
      cursorFile: join(dir, 'cursor.json'),
      bridgeId: `bench-${scenario.id}`,
      gossipProfile: scenario.profile,
    })
  let bridge: ReturnType<typeof startBridge> | undefined
  let bridgeStartedMs = 0
  const spawnBridge = () => {
    bridge = startBridgeNow()
    bridgeStartedMs = nowMs()
    return bridge
  }
  // When the edge accepted each event: with the arrivals, the backlog at every moment.
  const acceptedMs = new Array<number | undefined>(scenario.events)
  const headStart = scenario.headStartShare ? Math.ceil(scenario.headStartShare * scenario.events) : 0
  const queue = async () => {
    const started = nowMs()
    let errors = 0
    let accepted = 0
    await fireBurst(
      ctx.edge,
      edgeCluster,
      scenario.events,
      (i) => ({ name, payload: String(i), coalesce: false }),
      32,
      (i) => {
        acceptedMs[i] = nowMs()
        if (++accepted === headStart && !bridge) {
          log(`  ${headStart} events queued in ${((nowMs() - started) / 1000).toFixed(1)} s; starting the bridge`)
          spawnBridge()
        }
      },
    ).catch((error: Error) => {
      errors++
      log(`  queueing failed: ${error.message}`)
    })
    return { seconds: (nowMs() - started) / 1000, errors }
  }
  try {
    let queued = { seconds: 0, errors: 0 }
    if (scenario.backlog) {
      log(`  queueing ${scenario.events} events with the bridge stopped`)
      queued = await queue()
      log(`  queued in ${queued.seconds.toFixed(1)} s; starting the bridge`)
      spawnBridge()
    } else if (!headStart) {
      await spawnBridge().waitForLog(/connected to the Serf agent/, 60_000)
    }
    const udpBefore = udpCounters()
    // Quiet for two push/pull intervals before giving up: a miss is repaired within one.
    const quietMs = 2 * pushPullIntervalMs(scenario.profile, scenario.nodes)
    const progress = setInterval(async () => {
      // runBurst reads the recorders only once every event was queued; read them here too.
      await arrivals.refresh().catch(() => {})
      const counts = arrivals.counts(name)
      log(`  … ${Math.min(...counts)}–${Math.max(...counts)} of ${scenario.events} per node`)
    }, 60_000)
    let run: Awaited<ReturnType<typeof runBurst>>
    try {
      run = await runBurst('edge', cluster, arrivals, {
        count: scenario.events,
        name,
        mode: scenario.backlog ? 'backlog' : '32 concurrent senders',
        quietMs,
        // A backlog is already queued: the clock starts as the bridge does.
        submit: scenario.backlog
          ? async () => queued.errors
          : async () => {
              queued = await queue()
              return queued.errors
            },
      })
    } finally {
      clearInterval(progress)
    }
    if (!bridge) throw new Error('the bridge never started: fewer events were queued than its head start')
    const started = bridge as ReturnType<typeof startBridge>
    const udpAfter = udpCounters()
    const paceLine = started.logs.find((line) => /^pace /.test(String(line.msg)))
    const backoffLines = started.logs.filter((line) => /pace halved/.test(String(line.msg)))
    const metrics = await fetch(`${await started.metricsUrl()}/metrics`)
      .then((res) => res.text())
      .catch(() => '')
    // A loop, not Math.max(...all): 300,000 arguments overflow the stack.
    let first = Number.POSITIVE_INFINITY
    let last = Number.NEGATIVE_INFINITY
    const node0: number[] = []
    const firstArrivalMs = new Array<number | undefined>(scenario.events)
    for (let i = 0; i < scenario.events; i++) {
      const times = arrivals.times(name, String(i))
      if (times[0] !== undefined) node0.push(times[0])
      for (const t of times) {
        if (t === undefined) continue
        if (t < first) first = t
        if (t > last) last = t
        if (firstArrivalMs[i] === undefined || t < firstArrivalMs[i]!) firstArrivalMs[i] = t
      }
    }
    const flowSeconds = last > first ? (last - first) / 1000 : 0
    const repair = repairSafeRate(scenario.profile, scenario.nodes)
    const designPace = LIMIT_SHARE * repair
    const whileQueued = queuedDelivery(acceptedMs, firstArrivalMs, bridgeStartedMs, QUEUED_MIN_BACKLOG)
    return {
      scenario,
      startedAt,
      load: [loadStart, loadavg()[0]!],
      repairSafeRate: repair,
      designPace,
      paceLog: paceLine ? String(paceLine.msg) : undefined,
      count: scenario.events,
      submitErrors: run.submitErrors,
      queueSeconds: queued.seconds,
      headStart: headStart || undefined,
      deliverySeconds: run.deliverySeconds,
      flowSeconds,
      onEveryNode: run.onEveryNode,
      achievedRate: run.eventsPerSecond,
      flowRate: flowSeconds > 0 ? (run.onEveryNode - 1) / flowSeconds : 0,
      whileQueued,
      ratio: whileQueued.rate / repair,
      lostPerNode: run.perNode.map((n) => scenario.events - n),
      duplicates: run.duplicates,
      oldEventDrops: run.oldEventDrops,
      stalled: run.stalled,
      windowRates: windowRates(node0),
      slowStatsAnswers: slowStats(metrics),
      pacingWaits: unlabelled(metrics, 'serf_edge_bridge_pacing_waits_total'),
      backoffs: unlabelled(metrics, 'serf_edge_bridge_pace_backoffs_total') ?? backoffLines.length,
      lowestRate: backoffLines.length ? Math.min(...backoffLines.map((line) => Number(line.to))) : undefined,
      handlerThroughput,
      udp:
        udpBefore && udpAfter
          ? { sent: udpAfter.sent - udpBefore.sent, dropped: udpAfter.dropped - udpBefore.dropped }
          : undefined,
      bridgePeakRssMiB: statusKiB(started.pid, 'VmHWM') / 1024,
      bridgeCpuSeconds: cpuSeconds(started.pid),
    }
  } finally {
    await bridge?.stop().catch(() => {})
    await arrivals.close()
    await cluster.stop()
  }
}
