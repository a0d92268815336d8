/**
 * Figure 5: scale of the queue. With no bridge running, `count` events are queued at the edge
 * by many concurrent signed requests; then the bridge starts and drains them into a 3-node
 * cluster whose agents run no handler (so the figure is the queue and the bridge, not
 * 100,000 forks). Reads the Durable Object's SQLite file under wrangler's --persist-to folder.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { EdgeClient } from '../agent-bridge/edge-client.ts'
import { importSignKey } from '../protocol/signature.ts'
import { startBridge } from '../scripts/harness/bridge.ts'
import { fireBurst } from '../scripts/harness/fire.ts'
import type { LocalEdge } from '../scripts/harness/local-edge.ts'
import type { SerfCluster } from '../scripts/harness/serf.ts'
import { waitFor } from '../scripts/harness/wait.ts'
import { cpuSeconds, descendants, statusKiB } from './proc.ts'
import { inspectQueueDb, type QueueDbFacts } from './queue-storage.ts'
import { nowMs, type Summary, sleep, summarize } from './stats.ts'
import { unitBridge } from './unit-settings.ts'

export interface QueueScaleResult {
  count: number
  concurrency: number
  queueSeconds: number
  queueFailures: number
  /** One poll of `limit` events with the whole backlog queued, bridge offline. */
  pollLatency: Summary
  pollLimit: number
  drainSeconds: number
  /** Of the drain: bridge process start → its first batch emitted (Node start-up, lease, first poll). */
  startupSeconds: number
  /** Time between consecutive "batch emitted into Serf" log lines: poll + emit + drain + ack. */
  batchCycle: Summary
  batchSize: Summary
  pacingWaitSeconds: number
  bridgePeakRssMiB: number
  bridgeCpuSeconds: number
  storage: { label: string; fileBytes: number; facts?: QueueDbFacts }[]
  /** Resident memory of wrangler dev's workerd processes once everything was queued. */
  workerdRssMiB?: number
  pruneNote: string
}

export interface QueueScaleOptions {
  edge: LocalEdge
  edgeDir: string
  edgeCluster: string
  cluster: SerfCluster
  cursorFile: string
  count: number
  concurrency: number
  waitForPrune: boolean
  retentionMs: number
  bridgeArgs: string[]
  log: (line: string) => void
}

const DO_DIR = ['state', 'v3', 'do', 'serf-edge-ClusterQueue']

async function sqliteFiles(edgeDir: string): Promise<Map<string, number>> {
  const dir = join(edgeDir, ...DO_DIR)
  const sizes = new Map<string, number>()
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{64}\.sqlite$/.test(entry)) continue
    const main = await stat(join(dir, entry))
    const wal = await stat(join(dir, `${entry}-wal`)).catch(() => ({ size: 0 }))
    sizes.set(join(dir, entry), main.size + wal.size)
  }
  return sizes
}

async function snapshot(file: string, label: string) {
  const main = await stat(file)
  const wal = await stat(`${file}-wal`).catch(() => ({ size: 0 }))
  return { label, fileBytes: main.size + wal.size, facts: inspectQueueDb(file) }
}

export async function measureQueueScale(o: QueueScaleOptions): Promise<QueueScaleResult> {
  const before = await sqliteFiles(o.edgeDir)
  o.log(`  queueing ${o.count} events with ${o.concurrency} concurrent signed requests (no bridge running)`)
  const queueStart = nowMs()
  let queueFailures = 0
  const answers = await fireBurst(
    o.edge,
    o.edgeCluster,
    o.count,
    (i) => ({ name: 'scale', payload: String(i), coalesce: false }),
    o.concurrency,
  ).catch((error: Error) => {
    queueFailures++
    throw error
  })
  const queueSeconds = (nowMs() - queueStart) / 1000
  const lastSequence = Math.max(...answers.map((a) => a.sequence))
  const after = await sqliteFiles(o.edgeDir)
  const file = [...after.keys()].find((path) => !before.has(path))
  if (!file)
    throw new Error(
      `cannot find the Durable Object's SQLite file for "${o.edgeCluster}" under ${join(o.edgeDir, ...DO_DIR)}`,
    )
  o.log(`  queued in ${queueSeconds.toFixed(1)} s (${(o.count / queueSeconds).toFixed(0)}/s); ${file}`)
  const storage = [await snapshot(file, `${o.count} events queued`)]
  const workerd = descendants(o.edge.pid!).filter((p) => p.comm === 'workerd')
  const workerdRssMiB = workerd.reduce((sum, p) => sum + statusKiB(p.pid, 'VmRSS'), 0) / 1024

  const pollLimit = 256
  const probe = new EdgeClient({
    edgeUrl: o.edge.url,
    cluster: o.edgeCluster,
    keys: [await importSignKey(o.edge.bridgeKeys[o.edgeCluster]!)],
  })
  const polls: number[] = []
  let token = 0
  for (let i = 0; i < 20; i++) {
    const started = nowMs()
    const page = await probe.poll({ bridgeId: 'bench-probe', after: 0, limit: pollLimit, waitMs: 0 })
    polls.push(nowMs() - started)
    token = page.lease.token
  }
  await probe.release('bench-probe', token)

  const bridge = startBridge({
    edgeUrl: o.edge.url,
    cluster: o.edgeCluster,
    bridgeKey: o.edge.bridgeKeys[o.edgeCluster]!,
    rpcAddr: o.cluster.agents[0]!.rpcAddr,
    cursorFile: o.cursorFile,
    bridgeId: 'bench-scale',
    extraArgs: o.bridgeArgs,
    ...unitBridge(),
  })
  const drainStart = nowMs()
  const cpuBefore = cpuSeconds(bridge.pid)
  let lastLog = nowMs()
  await waitFor(
    async () => {
      const acked = await bridge.metric('serf_edge_bridge_events_acked_total')
      if (nowMs() - lastLog > 15_000) {
        o.log(`  drained ${acked}/${o.count}`)
        lastLog = nowMs()
      }
      return acked >= o.count
    },
    {
      timeoutMs: Math.max(300_000, o.count * 20),
      intervalMs: 250,
      what: `the bridge to acknowledge ${o.count} events`,
    },
  )
  const drainSeconds = (nowMs() - drainStart) / 1000
  const pacingWaitSeconds = await bridge.metric('serf_edge_bridge_pacing_wait_seconds_total')
  const bridgePeakRssMiB = statusKiB(bridge.pid, 'VmHWM') / 1024
  const bridgeCpuSeconds = cpuSeconds(bridge.pid) - cpuBefore
  await bridge.stop()
  const batches = bridge.logs.filter((l) => l.msg === 'batch emitted into Serf')
  const starting = bridge.logs.find((l) => l.msg === 'bridge starting')
  const startupSeconds = starting && batches[0] ? (Number(batches[0].time) - Number(starting.time)) / 1000 : Number.NaN
  const cycles = batches.slice(1).map((l, i) => Number(l.time) - Number(batches[i]!.time))
  const sizes = batches.map((l) => Number(l.through) - Number(l.from) + 1)
  o.log(`  drained through sequence ${lastSequence} in ${drainSeconds.toFixed(1)} s`)
  storage.push(await snapshot(file, 'after the drain (all delivered, before retention ends)'))

  let pruneNote = `Settled events stay for the cluster's retention (${o.retentionMs / 60_000} min, the shortest the edge accepts) and are pruned by the next alarm after that (every 60 s); this run did not wait (pass --wait-prune).`
  if (o.waitForPrune) {
    const deadline = nowMs() + o.retentionMs + 150_000
    o.log(`  waiting up to ${((deadline - nowMs()) / 60_000).toFixed(1)} min for the alarm to prune`)
    while (nowMs() < deadline && (inspectQueueDb(file)?.rows ?? 1) > 0) await sleep(15_000)
    const pruned = await snapshot(file, 'after pruning')
    storage.push(pruned)
    pruneNote =
      pruned.facts?.rows === 0
        ? 'The alarm pruned every settled event once retention passed.'
        : 'Rows were still present at the end of the wait.'
  }
  return {
    count: o.count,
    concurrency: o.concurrency,
    queueSeconds,
    queueFailures,
    pollLatency: summarize(polls),
    pollLimit,
    drainSeconds,
    startupSeconds,
    batchCycle: summarize(cycles),
    batchSize: summarize(sizes),
    pacingWaitSeconds,
    bridgePeakRssMiB,
    bridgeCpuSeconds,
    storage,
    workerdRssMiB,
    pruneNote,
  }
}
