/**
 * The bridge's Prometheus metrics and its local health endpoint (`/metrics`, `/healthz`).
 */
import type { Server } from 'node:http'
import type * as Prom from 'prom-client'
import { EdgeProblemError, EdgeUnreachableError } from '../protocol/problem.ts'

/*
 * prom-client's own modules, not its index: the index also loads its Pushgateway (node:https,
 * TLS, zlib), Summary and cluster aggregation, which the bridge never uses. The test of this file
 * checks that they are the classes the index exports.
 */
const requireCjs = process.getBuiltinModule('node:module').createRequire(import.meta.url)
const Counter: typeof Prom.Counter = requireCjs('prom-client/lib/counter')
const Gauge: typeof Prom.Gauge = requireCjs('prom-client/lib/gauge')
const Histogram: typeof Prom.Histogram = requireCjs('prom-client/lib/histogram')
const Registry: typeof Prom.Registry = requireCjs('prom-client/lib/registry')
const collectDefaultMetrics: typeof Prom.collectDefaultMetrics = requireCjs('prom-client/lib/defaultMetrics')

// Not `import … from 'node:http'`: its ES module namespace reads every export, and the lazy
// `WebSocket` one loads undici, about 10 MiB of resident memory the bridge never uses.
const { createServer } = process.getBuiltinModule('node:http')

/** Every metric the bridge reports, on its own registry. */
export class BridgeMetrics {
  readonly registry: Prom.Registry = new Registry()
  readonly emitted: Prom.Counter
  readonly rejected: Prom.Counter
  readonly acked: Prom.Counter
  readonly reemitted: Prom.Counter
  readonly backlog: Prom.Gauge
  readonly lagSeconds: Prom.Gauge
  readonly rpcSeconds: Prom.Histogram<'command'>
  readonly pacingWaits: Prom.Counter
  readonly pacingWaitSeconds: Prom.Counter
  readonly paceBackoffs: Prom.Counter
  readonly reconnects: Prom.Counter
  readonly edgeErrors: Prom.Counter<'kind'>
  readonly leaseHeld: Prom.Gauge
  readonly leaseLapses: Prom.Counter
  readonly cursor: Prom.Gauge
  readonly queries: Prom.Counter<'outcome'>
  readonly queriesRunning: Prom.Gauge
  readonly queryRecords: Prom.Counter<'type'>
  readonly membersReports: Prom.Counter
  readonly members: Prom.Gauge<'status'>

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry]
    const p = 'serf_edge_bridge_'
    this.emitted = new Counter({ name: `${p}events_emitted_total`, help: 'Events Serf accepted', registers })
    this.rejected = new Counter({ name: `${p}events_rejected_total`, help: 'Events Serf refused', registers })
    this.acked = new Counter({ name: `${p}events_acked_total`, help: 'Events settled at the edge', registers })
    this.reemitted = new Counter({
      name: `${p}events_reemitted_total`,
      help: 'Events sent to Serf again after a dropped RPC connection (possible duplicates)',
      registers,
    })
    this.backlog = new Gauge({
      name: `${p}queue_backlog_events`,
      help: 'Events queued at the edge for this cluster',
      registers,
    })
    this.lagSeconds = new Gauge({
      name: `${p}queue_lag_seconds`,
      help: 'Age of the last event emitted, at emit time',
      registers,
    })
    this.rpcSeconds = new Histogram({
      name: `${p}rpc_latency_seconds`,
      help: 'Serf RPC round trip',
      labelNames: ['command'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    })
    this.pacingWaits = new Counter({
      name: `${p}pacing_waits_total`,
      help: "Waits for Serf's event queue to drain",
      registers,
    })
    this.pacingWaitSeconds = new Counter({
      name: `${p}pacing_wait_seconds_total`,
      help: 'Time spent in pacing waits',
      registers,
    })
    this.paceBackoffs = new Counter({
      name: `${p}pace_backoffs_total`,
      help: "Times a slow answer from Serf (its handlers behind) halved the bridge's rate",
      registers,
    })
    this.reconnects = new Counter({
      name: `${p}serf_reconnects_total`,
      help: 'Reconnections to the Serf agent',
      registers,
    })
    this.edgeErrors = new Counter({
      name: `${p}edge_errors_total`,
      help: 'Failed edge calls',
      labelNames: ['kind'],
      registers,
    })
    this.leaseHeld = new Gauge({ name: `${p}lease_held`, help: '1 while this bridge is the active one', registers })
    this.leaseLapses = new Counter({
      name: `${p}lease_lapses_total`,
      help: 'Times the lease lapsed by the local clock mid-batch, so emitting stopped until the edge confirmed it',
      registers,
    })
    this.cursor = new Gauge({ name: `${p}cursor_sequence`, help: 'Last sequence emitted into Serf', registers })
    this.queries = new Counter({
      name: `${p}queries_total`,
      help: 'Queries run, by outcome: done, refused (by Serf), failed (agent connection or edge lost)',
      labelNames: ['outcome'],
      registers,
    })
    this.queriesRunning = new Gauge({ name: `${p}queries_running`, help: 'Queries running now', registers })
    this.queryRecords = new Counter({
      name: `${p}query_records_relayed_total`,
      help: 'Query records (ack, response, done) the edge accepted',
      labelNames: ['type'],
      registers,
    })
    this.membersReports = new Counter({
      name: `${p}members_reports_total`,
      help: 'Members reports the edge accepted',
      registers,
    })
    this.members = new Gauge({
      name: `${p}members`,
      help: 'Cluster members in the last report, by status',
      labelNames: ['status'],
      registers,
    })
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry })
  }
}

/** The `kind` label of `edge_errors_total` for a failed edge call. */
export function edgeErrorKind(error: unknown): string {
  if (error instanceof EdgeUnreachableError) return 'unreachable'
  if (error instanceof EdgeProblemError) return `http_${error.status}`
  return 'other'
}

/** What `/healthz` reports; `healthy` decides 200 or 503. */
export interface HealthReport {
  healthy: boolean
  [detail: string]: unknown
}

/**
 * Serve `/metrics` and `/healthz` on `address` (`host:port`; port 0 picks a free one).
 * @example const server = await serveMetrics('127.0.0.1:9464', metrics, () => bridge.health())
 */
export async function serveMetrics(
  address: string,
  metrics: BridgeMetrics,
  health: () => HealthReport,
): Promise<Server> {
  const colon = address.lastIndexOf(':')
  const host = address.slice(0, colon) || '127.0.0.1'
  const port = Number(address.slice(colon + 1))
  const server = createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType })
      res.end(await metrics.registry.metrics())
    } else if (req.url === '/healthz') {
      const report = health()
      res.writeHead(report.healthy ? 200 : 503, { 'content-type': 'application/json' })
      res.end(JSON.stringify(report))
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found: try /metrics or /healthz\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  server.unref()
  return server
}
