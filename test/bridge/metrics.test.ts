/** The bridge's metrics come from prom-client's own modules, with the names operators scrape. */
import { createRequire } from 'node:module'
import * as prom from 'prom-client'
import { describe, expect, it } from 'vitest'
import { BridgeMetrics } from '../../agent-bridge/metrics.ts'

const require = createRequire(import.meta.url)

describe('BridgeMetrics', () => {
  it("takes the classes prom-client's index exports, from the modules that define them", () => {
    expect(require('prom-client/lib/counter')).toBe(prom.Counter)
    expect(require('prom-client/lib/gauge')).toBe(prom.Gauge)
    expect(require('prom-client/lib/histogram')).toBe(prom.Histogram)
    expect(require('prom-client/lib/registry')).toBe(prom.Registry)
    expect(require('prom-client/lib/defaultMetrics')).toBe(prom.collectDefaultMetrics)
  })

  it("exposes the bridge's metrics and Node's process metrics in the text format", async () => {
    const metrics = new BridgeMetrics()
    metrics.emitted.inc(3)
    metrics.rpcSeconds.observe({ command: 'event' }, 0.002)
    metrics.edgeErrors.inc({ kind: 'unreachable' })
    const text = await metrics.registry.metrics()
    expect(metrics.registry.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(text).toContain(
      '# TYPE serf_edge_bridge_events_emitted_total counter\nserf_edge_bridge_events_emitted_total 3',
    )
    expect(text).toContain('# TYPE serf_edge_bridge_rpc_latency_seconds histogram')
    expect(text).toContain('serf_edge_bridge_rpc_latency_seconds_bucket{le="0.0025",command="event"} 1')
    expect(text).toContain('serf_edge_bridge_edge_errors_total{kind="unreachable"} 1')
    expect(text).toContain('# TYPE serf_edge_bridge_queue_backlog_events gauge')
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes'])
      expect(text).toMatch(new RegExp(`^${name} `, 'm'))
  })

  it('leaves the process metrics out when asked', async () => {
    const text = await new BridgeMetrics({ processMetrics: false }).registry.metrics()
    expect(text).not.toMatch(/^process_|^nodejs_/m)
  })
})
