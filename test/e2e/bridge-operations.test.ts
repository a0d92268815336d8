/**
 * Operating the bridge: metrics and health, a clear stop on a wrong key, backoff while the
 * edge is down (its queue survives the restart), and one active bridge with a standby.
 */
import { describe, expect, it } from 'vitest'
import { generateHmacKey } from '../../protocol/signature.ts'
import { fireBurst } from '../helpers/fire.ts'
import { pipeline } from '../helpers/pipeline.ts'
import { payloadText, waitFor } from '../helpers/serf-agent.ts'

// A cluster per test: each starts with its lease free and its queue empty.
const p = pipeline({
  nodes: 1,
  clusters: {
    metered: { bridgeLeaseTtl: '3s' },
    takeover: { bridgeLeaseTtl: '3s' },
    outage: { bridgeLeaseTtl: '3s' },
  },
})

async function payloadsAtAgent(name: string) {
  return (await p.eventsNamed(name))[0]!.map(payloadText)
}

describe('a wrong bridge key', () => {
  it('stops the bridge with exit code 2 and a message naming the cause', async () => {
    const bridge = p.startBridge('metered', { bridgeId: 'wrong-key', bridgeKey: generateHmacKey().secret })
    expect(await bridge.exited).toBe(2)
    expect(bridge.output).toMatch(/the edge refused this bridge \(401[^)]*\).*BRIDGE_KEYS_<CLUSTER>/)
  })
})

describe('metrics, health, standby and takeover', () => {
  it('serves Prometheus metrics and a health report while delivering', async () => {
    const active = p.startBridge('metered', { bridgeId: 'active' })
    await active.waitForLog(/lease acquired/)
    await fireBurst(p.edge, 'metered', 3, (i) => ({ name: 'metered', payload: String(i), coalesce: false }), 1)
    await waitFor(async () => (await payloadsAtAgent('metered')).length === 3, { what: 'three events' })
    const base = await active.metricsUrl()
    const health = await fetch(`${base}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ healthy: true, role: 'active', serfConnected: true })
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(/^serf_edge_bridge_events_emitted_total 3$/m)
    await waitFor(async () => (await active.metric('serf_edge_bridge_events_acked_total')) === 3, {
      what: 'three acked events in the metrics',
    })
    expect(metrics).toMatch(/^serf_edge_bridge_rpc_latency_seconds_count\{command="event"\} 3$/m)
    expect(metrics).toMatch(/^serf_edge_bridge_lease_held 1$/m)
  })

  it('a second bridge stands by, then takes over when the first is killed', async () => {
    const active = p.startBridge('takeover', { bridgeId: 'active' })
    await active.waitForLog(/lease acquired/)
    const standby = p.startBridge('takeover', { bridgeId: 'standby' })
    await standby.waitForLog(/standby/)
    const health = await (await fetch(`${await standby.metricsUrl()}/healthz`)).json()
    expect(health).toMatchObject({ role: 'standby' })
    await active.kill()
    await standby.waitForLog(/lease acquired/, 30_000)
    await fireBurst(p.edge, 'takeover', 1, () => ({ name: 'after-takeover', payload: 'x' }))
    await waitFor(async () => (await payloadsAtAgent('after-takeover')).length === 1, {
      what: 'the event after takeover',
    })
    expect(await standby.stop()).toBe(0)
  })
})

describe('the edge going away', () => {
  it('the bridge backs off while the edge is down, then resumes; queued events survive the restart', async () => {
    const bridge = p.startBridge('outage', { bridgeId: 'patient' })
    await bridge.waitForLog(/lease acquired/)
    await p.edge.stop()
    await waitFor(() => bridge.logs.filter((l) => l.msg === 'edge call failed; backing off').length >= 3, {
      timeoutMs: 60_000,
      what: 'three backoff log lines',
    })
    const delays = bridge.logs.filter((l) => l.msg === 'edge call failed; backing off').map((l) => Number(l.retryInMs))
    expect(delays[2]!).toBeGreaterThan(delays[0]!)
    await p.edge.start()
    await fireBurst(p.edge, 'outage', 2, (i) => ({ name: 'after-outage', payload: String(i), coalesce: false }), 1)
    await waitFor(async () => (await payloadsAtAgent('after-outage')).length === 2, {
      timeoutMs: 60_000,
      what: 'events after the outage',
    })

    await bridge.stop()
    await fireBurst(p.edge, 'outage', 2, (i) => ({ name: 'across-restart', payload: String(i), coalesce: false }), 1)
    await p.edge.stop()
    await p.edge.start()
    const again = p.startBridge('outage', { bridgeId: 'patient' })
    await waitFor(async () => (await payloadsAtAgent('across-restart')).length === 2, {
      timeoutMs: 60_000,
      what: 'events queued before the edge restart',
    })
    expect(await again.stop()).toBe(0)
  })
})
