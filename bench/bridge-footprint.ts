/**
 * The bridge's footprint over a long drain, on its own: `count` events handed out by a stub edge
 * (bench/stub-edge.ts) and emitted into 3 Serf agents that run no handler, with `-max-rate=0`
 * (pace is not what is measured). Samples the bridge's resident set every 250 ms, so the peak
 * and its trend over the drain are both reported, and its CPU seconds from /proc.
 *
 *   node bench/bridge-footprint.ts --events=100000 [--node-args="--max-semi-space-size=1"]
 *        [--entry=dist/agent-bridge.js] [--env=MALLOC_ARENA_MAX=2] [--label=TEXT] [--out=FILE]
 *        [--real-edge]
 *
 * `--real-edge` queues the events at `wrangler dev` first (bridge offline) and drains from it, to
 * check the stub's figures against the real edge on a shorter drain.
 *
 * Not part of `npm run bench`: a separate run, written up by hand in docs/BENCHMARKS.md.
 */
import { appendFile, mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { generateHmacKey } from '../protocol/signature.ts'
import { spawnBridge } from '../scripts/harness/bridge.ts'
import { fireBurst } from '../scripts/harness/fire.ts'
import { startEdge, stopAllEdges } from '../scripts/harness/local-edge.ts'
import { startSilentCluster } from './cluster.ts'
import { cpuSeconds, statusKiB } from './proc.ts'
import { nowMs, sleep } from './stats.ts'
import { type StubEdge, startStubEdge } from './stub-edge.ts'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    'node-args': { type: 'string', default: '' },
    'bridge-args': { type: 'string', default: '-max-rate=0' },
    entry: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
    label: { type: 'string' },
    'real-edge': { type: 'boolean', default: false },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
})
const count = Number(values.events)

/**
 * `--real-edge`: wrangler dev with `count` events queued through the SDK first (bridge offline),
 * as figure 5 does; the drain's progress is read from the bridge's "batch emitted" lines.
 */
async function realEdge(count: number) {
  const local = await startEdge({
    dir: join(dir, 'edge'),
    clusters: { bench: { maxEventAge: '1h', maxQueuedEvents: 1_000_000, bridgeLeaseTtl: '10s' } },
  })
  process.stderr.write(`  queueing ${count} events at ${local.url}\n`)
  const answers = await fireBurst(
    local,
    'bench',
    count,
    (i) => ({ name: 'scale', payload: String(i), coalesce: false }),
    64,
  )
  const last = Math.max(...answers.map((a) => a.sequence))
  let through = 0
  let onDrained = () => {}
  const drained = new Promise<void>((resolve) => {
    onDrained = resolve
  })
  return {
    url: local.url,
    bridgeKey: local.bridgeKeys.bench!,
    get ackedThrough() {
      return through
    },
    drained,
    onLine: (text: string) => {
      if (!text.includes('batch emitted into Serf')) return
      through = Number((JSON.parse(text) as { through: number }).through)
      // The ack follows the line; give it a moment before the bridge is stopped.
      if (through >= last) setTimeout(onDrained, 1_000)
    },
    stop: () => stopAllEdges(),
  }
}
const nodeArgs = values['node-args']!.split(/\s+/).filter(Boolean)
const bridgeArgs = values['bridge-args']!.split(/\s+/).filter(Boolean)
const extraEnv = Object.fromEntries(values.env!.map((pair) => pair.split(/=(.*)/s, 2) as [string, string]))
const label = values.label ?? ([values.entry, ...nodeArgs, ...values.env!].filter(Boolean).join(' ') || 'defaults')

const dir = await mkdtemp(join(tmpdir(), 'serf-edge-footprint-'))
const cluster = await startSilentCluster(join(dir, 'serf'))
/** The stub checks no signature: any key will do. */
const edge: StubEdge & { bridgeKey?: string; onLine?: (line: string) => void } = values['real-edge']
  ? await realEdge(count)
  : await startStubEdge(count)
const load = [loadavg()[0]!]
const started = nowMs()
const bridge = spawnBridge(
  {
    edgeUrl: edge.url,
    cluster: 'bench',
    bridgeKey: edge.bridgeKey ?? generateHmacKey().secret,
    rpcAddr: cluster.agents[0]!.rpcAddr,
    cursorFile: join(dir, 'cursor.json'),
    bridgeId: 'bench-footprint',
    gossipProfile: cluster.profile,
    extraArgs: bridgeArgs,
    nodeArgs,
    entry: values.entry,
  },
  { env: { ...process.env, ...extraEnv }, onLine: edge.onLine },
)
const pid = bridge.pid!

/** One reading: seconds since spawn, resident KiB, events acknowledged. */
const samples: { t: number; rssKiB: number; acked: number }[] = []
let firstAckCpu = Number.NaN
let firstAckAt = Number.NaN
let done = false
edge.drained.then(() => {
  done = true
})
const deadline = started + Math.max(600_000, count * 20)
while (!done && bridge.running && nowMs() < deadline) {
  const acked = edge.ackedThrough
  if (acked > 0 && Number.isNaN(firstAckCpu)) {
    firstAckCpu = cpuSeconds(pid)
    firstAckAt = nowMs()
  }
  samples.push({ t: (nowMs() - started) / 1000, rssKiB: statusKiB(pid, 'VmRSS'), acked })
  if (samples.length % 120 === 0)
    process.stderr.write(`  ${acked}/${count} acked, RSS ${(samples.at(-1)!.rssKiB / 1024).toFixed(1)} MiB\n`)
  await sleep(250)
}
const drainSeconds = (nowMs() - started) / 1000
const cpu = cpuSeconds(pid)
const peakKiB = statusKiB(pid, 'VmHWM')
const firstAcked = samples.find((s) => s.acked > 0)?.acked ?? 0
load.push(loadavg()[0]!)
const ok = done
await bridge.stop(30_000)
await cluster.stop()
await edge.stop()
if (!values.keep) await rm(dir, { recursive: true, force: true })
if (!ok) {
  process.stderr.write(`the drain did not finish: ${edge.ackedThrough}/${count}\n${bridge.tail(30)}\n`)
  process.exit(1)
}

/** Resident MiB when the drain had reached `fraction` of the events. */
const rssAt = (fraction: number) => {
  const sample = samples.find((s) => s.acked >= fraction * count) ?? samples.at(-1)!
  return sample.rssKiB / 1024
}
const result = {
  label,
  events: count,
  nodeArgs,
  entry: values.entry ?? 'agent-bridge/cli.ts',
  env: extraEnv,
  bridgeArgs,
  drainSeconds,
  peakRssMiB: peakKiB / 1024,
  rssMiBAt: Object.fromEntries([0.1, 0.25, 0.5, 0.75, 1].map((f) => [`${f * 100}%`, Number(rssAt(f).toFixed(1))])),
  cpuSeconds: cpu,
  cpuMsPerEvent: (cpu * 1000) / count,
  /** CPU of the drain after the first acknowledgement: start-up (Node, modules, lease) left out. */
  steadyCpuMsPerEvent: ((cpu - firstAckCpu) * 1000) / (count - firstAcked),
  startupSeconds: (firstAckAt - started) / 1000,
  loadAverage: load,
  at: new Date().toISOString(),
}
process.stdout.write(`${JSON.stringify(result)}\n`)
if (values.out) await appendFile(values.out, `${JSON.stringify(result)}\n`)
