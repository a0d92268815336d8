/**
 * The three ways into a Serf cluster that the figures compare, behind one interface: fire one
 * non-coalesced event and resolve when the system has accepted it.
 */

import { resolveConfig } from '../agent-bridge/cli.ts'
import { paceFor } from '../agent-bridge/gossip-limits.ts'
import { SerfRpcClient } from '../agent-bridge/serf-rpc.ts'
import { fireEvent } from '../client/sdk.ts'
import { type BridgeProcess, startBridge } from '../scripts/harness/bridge.ts'
import type { LocalEdge } from '../scripts/harness/local-edge.ts'
import { HARNESS_PROFILE, type SerfCluster } from '../scripts/harness/serf.ts'
import { unitBridge } from './unit-settings.ts'
import type { WebhookServer } from './webhook.ts'

export type SystemId = 'edge' | 'direct' | 'webhook'

export const SYSTEM_LABELS: Record<SystemId, string> = {
  edge: 'A. serf-edge (SDK → workerd → agent-bridge → Serf)',
  direct: 'B. direct Serf RPC (SerfRpcClient → node-0)',
  webhook: 'C. adnanh/webhook (HMAC hook → serf event CLI)',
}

export const SHORT_LABELS: Record<SystemId, string> = {
  edge: 'A serf-edge',
  direct: 'B direct RPC',
  webhook: 'C webhook',
}

export interface EventSystem {
  id: SystemId
  /** Fire `name` with a UTF-8 `payload`, coalesce off; resolves once the system accepted it. */
  fire(name: string, payload: string): Promise<void>
  stop(): Promise<void>
}

/** B: one pipelined RPC connection to node-0, as the bridge itself uses. */
export async function directSystem(cluster: SerfCluster): Promise<EventSystem & { client: SerfRpcClient }> {
  const client = new SerfRpcClient({ address: cluster.agents[0]!.rpcAddr, requestTimeoutMs: 60_000 })
  await client.connect()
  const encoder = new TextEncoder()
  return {
    id: 'direct',
    client,
    fire: (name, payload) => client.event(name, encoder.encode(payload), false),
    stop: () => client.close(),
  }
}

/** The body both HTTP systems receive: the edge's event request. */
export function eventBody(cluster: string, name: string, payload: string): string {
  return JSON.stringify({ cluster, name, payload, coalesce: false })
}

/**
 * The pacing settings agent-bridge runs with when given `extraArgs` (after the harness's
 * `-gossip-profile`), read from its own CLI parser so the report states what was measured, not
 * what the docs said at some point; without `-max-rate`, the pace it derives for `members`.
 */
export async function bridgeSettings(extraArgs: string[], members = 3): Promise<string> {
  try {
    const config = await resolveConfig(
      [
        '-edge-url=http://127.0.0.1:1',
        '-cluster=bench',
        '-bridge-key=whsec_AAAA',
        `-gossip-profile=${HARNESS_PROFILE}`,
        ...extraArgs,
      ],
      {},
    )
    if (config === 'help') return extraArgs.join(' ')
    const profile = `-gossip-profile=${config.gossipProfile}`
    const view = { profile: config.gossipProfile, alive: members, known: members, encrypted: false }
    const pace =
      config.maxRate === null
        ? `${profile} (pace ${paceFor(view).rate.toFixed(1)}/s for ${members} members)`
        : `${profile} -max-rate=${config.maxRate}`
    return `-batch-size=${config.batchSize} -max-event-queue=${config.maxEventQueue} ${pace}`
  } catch (error) {
    return `${extraArgs.join(' ')} (could not read the bridge's settings: ${(error as Error).message})`
  }
}

/** A: the sender SDK against a local edge; the bridge delivers into node-0. */
export function edgeSystem(
  edge: LocalEdge,
  edgeCluster: string,
  cluster: SerfCluster,
  cursorFile: string,
  extraArgs: string[] = [],
): EventSystem & { bridge: BridgeProcess } {
  const sender = Object.keys(edge.senderKeys)[0]!
  const bridge = startBridge({
    edgeUrl: edge.url,
    cluster: edgeCluster,
    bridgeKey: edge.bridgeKeys[edgeCluster]!,
    rpcAddr: cluster.agents[0]!.rpcAddr,
    cursorFile,
    bridgeId: `bench-${edgeCluster}`,
    extraArgs,
    ...unitBridge(),
  })
  return {
    id: 'edge',
    bridge,
    fire: async (name, payload) => {
      await fireEvent({
        edgeUrl: edge.url,
        cluster: edgeCluster,
        sender,
        key: edge.senderKeys[sender]!,
        name,
        payload,
        coalesce: false,
      })
    },
    stop: async () => {
      await bridge.stop()
    },
  }
}

/** C: a signed POST to the webhook hook; a 200 means `serf event` exited 0. */
export function webhookSystem(server: WebhookServer, cluster: string): EventSystem {
  return {
    id: 'webhook',
    fire: async (name, payload) => {
      const res = await server.post(eventBody(cluster, name, payload))
      const text = await res.text()
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${text.slice(0, 200)}`)
    },
    stop: () => server.stop(),
  }
}

/** Run `count` calls of `task(i)` with at most `concurrency` in flight. */
export async function withConcurrency(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
}
