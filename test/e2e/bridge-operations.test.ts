/**
 * Operating the bridge: metrics and health, a clear stop on a wrong key, backoff while the
 * edge is down (its queue survives the restart), and one active bridge with a standby.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateHmacKey } from '../../protocol/signature.ts'
import { type BridgeProcess, startBridge, stopAllBridges } from '../helpers/bridge-process.ts'
import { type LocalEdge, startEdge, stopAllEdges } from '../helpers/edge.ts'
import { fireBurst } from '../helpers/fire.ts'
import { type SerfCluster, startSerfCluster, stopAll, waitFor } from '../helpers/serf-agent.ts'

let dir: string
let edge: LocalEdge
let serf: SerfCluster

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-ops-'))
  serf = await startSerfCluster({ dir: join(dir, 'serf'), nodes: 1, logLevel: 'info' })
  edge = await startEdge({ dir: join(dir, 'edge'), clusters: { ops: { bridgeLeaseTtl: '3s' } } })
})

afterAll(async () => {
  await stopAllBridges()
  await stopAllEdges()
  await stopAll()
  await rm(dir, { recursive: true, force: true })
})

const options = (bridgeId: string, bridgeKey = edge.bridgeKeys.ops!) => ({
  edgeUrl: edge.url,
  cluster: 'ops',
  bridgeKey,
  rpcAddr: serf.agents[0]!.rpcAddr,
  cursorFile: join(dir, `${bridgeId}.cursor.json`),
  bridgeId,
})

async function payloadsAtAgent(name: string) {
  return (await serf.agents[0]!.readEvents()).filter((e) => e.name === name).map((e) => text(e.payload))
}

async function metricsUrl(bridge: BridgeProcess) {
  const line = await bridge.waitForLog(/serving \/metrics/)
  return `http://${String(line.metrics)}`
}

describe('a wrong bridge key', () => {
  it('stops the bridge with exit code 2 and a message naming the cause', async () => {
    const bridge = startBridge(options('wrong-key', generateHmacKey().secret))
    expect(await bridge.exited).toBe(2)
    expect(bridge.output).toMatch(/the edge refused this bridge \(401[^)]*\).*BRIDGE_KEYS_<CLUSTER>/)
  })
})

describe('metrics, health, standby and takeover', () => {
  let active: BridgeProcess

  it('serves Prometheus metrics and a health report while delivering', async () => {
    active = startBridge(options('active'))
    await active.waitForLog(/lease acquired/)
    await fireBurst(edge, 'ops', 3, (i) => ({ name: 'metered', payload: String(i), coalesce: false }), 1)
    await waitFor(async () => (await payloadsAtAgent('metered')).length === 3, { what: 'three events' })
    const base = await metricsUrl(active)
    const health = await fetch(`${base}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ healthy: true, role: 'active', serfConnected: true })
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(/^serf_edge_bridge_events_emitted_total 3$/m)
    await waitFor(
      async () => /^serf_edge_bridge_events_acked_total 3$/m.test(await (await fetch(`${base}/metrics`)).text()),
      {
        what: 'three acked events in the metrics',
      },
    )
    expect(metrics).toMatch(/^serf_edge_bridge_rpc_latency_seconds_count\{command="event"\} 3$/m)
    expect(metrics).toMatch(/^serf_edge_bridge_lease_held 1$/m)
  })

  it('a second bridge stands by, then takes over when the first is killed', async () => {
    const standby = startBridge(options('standby'))
    await standby.waitForLog(/standby/)
    const health = await (await fetch(`${await metricsUrl(standby)}/healthz`)).json()
    expect(health).toMatchObject({ role: 'standby' })
    await active.kill()
    await standby.waitForLog(/lease acquired/, 30_000)
    await fireBurst(edge, 'ops', 1, () => ({ name: 'after-takeover', payload: 'x' }))
    await waitFor(async () => (await payloadsAtAgent('after-takeover')).length === 1, {
      what: 'the event after takeover',
    })
    expect(await standby.stop()).toBe(0)
  })
})

describe('the edge going away', () => {
  it('the bridge backs off while the edge is down, then resumes; queued events survive the restart', async () => {
    const bridge = startBridge(options('patient'))
    await bridge.waitForLog(/lease acquired/)
    await edge.stop()
    await waitFor(() => bridge.logs.filter((l) => l.msg === 'edge call failed; backing off').length >= 3, {
      timeoutMs: 60_000,
      what: 'three backoff log lines',
    })
    const delays = bridge.logs.filter((l) => l.msg === 'edge call failed; backing off').map((l) => Number(l.retryInMs))
    expect(delays[2]!).toBeGreaterThan(delays[0]!)
    await edge.start()
    await fireBurst(edge, 'ops', 2, (i) => ({ name: 'after-outage', payload: String(i), coalesce: false }), 1)
    await waitFor(async () => (await payloadsAtAgent('after-outage')).length === 2, {
      timeoutMs: 60_000,
      what: 'events after the outage',
    })

    await bridge.stop()
    await fireBurst(edge, 'ops', 2, (i) => ({ name: 'across-restart', payload: String(i), coalesce: false }), 1)
    await edge.stop()
    await edge.start()
    const again = startBridge(options('patient'))
    await waitFor(async () => (await payloadsAtAgent('across-restart')).length === 2, {
      timeoutMs: 60_000,
      what: 'events queued before the edge restart',
    })
    expect(await again.stop()).toBe(0)
  })
})
