/**
 * Figure 3: ingest. Concurrent senders post signed events for a fixed time; we count accepted
 * requests and their latency, and the CPU the server's processes used per accepted request,
 * read from /proc before and after. The edge only queues (no bridge runs for its cluster); the
 * webhook hook runs `serf event` per request against one agent that runs no handler.
 */
import { fireEvent } from '../client/sdk.ts'
import type { LocalEdge } from '../scripts/harness/local-edge.ts'
import { cpuSeconds, descendants, reapedChildrenCpuSeconds } from './proc.ts'
import { nowMs, type Summary, summarize } from './stats.ts'
import type { SystemId } from './systems.ts'
import { eventBody } from './systems.ts'
import type { WebhookServer } from './webhook.ts'

export interface IngestRun {
  system: SystemId | 'edge-baseline'
  concurrency: number
  seconds: number
  accepted: number
  failed: number
  requestsPerSecond: number
  latency: Summary
  /** Server CPU ms per accepted request, by process group (e.g. workerd, wrangler node). */
  cpuMsPerRequest: Record<string, number>
  /** The bench process's own CPU ms per request (signing, HTTP client). */
  clientCpuMsPerRequest: number
}

interface Target {
  system: SystemId | 'edge-baseline'
  /** One signed request; resolves true when accepted. */
  send: (i: number) => Promise<boolean>
  /** Named CPU readings (seconds) of the server's processes. */
  cpu: () => Record<string, number>
}

/** The edge: the SDK's signed POST into cluster `cluster`; CPU of workerd and of wrangler's node. */
export function edgeTarget(edge: LocalEdge, cluster: string): Target {
  const sender = Object.keys(edge.senderKeys)[0]!
  const key = edge.senderKeys[sender]!
  const workerd = () =>
    descendants(edge.pid!)
      .filter((p) => p.comm === 'workerd')
      .map((p) => p.pid)
  const wranglerNode = () => [
    edge.pid!,
    ...descendants(edge.pid!)
      .filter((p) => p.comm !== 'workerd' && p.comm !== 'esbuild')
      .map((p) => p.pid),
  ]
  return {
    system: 'edge',
    send: async (i) => {
      // One attempt, as the webhook gets: a retry would hide a failure inside the latency.
      const accepted = await fireEvent({
        edgeUrl: edge.url,
        cluster,
        sender,
        key,
        name: 'ingest',
        payload: String(i),
        coalesce: false,
        retry: { attempts: 1 },
      })
      return accepted.status === 'queued'
    },
    cpu: () => ({
      workerd: workerd().reduce((sum, pid) => sum + cpuSeconds(pid), 0),
      'wrangler (node)': wranglerNode().reduce((sum, pid) => sum + cpuSeconds(pid), 0),
    }),
  }
}

/**
 * The same edge, `GET /` (no signature, no Durable Object): what wrangler's proxy hop, HTTP and
 * the runtime cost per request on their own, to subtract from the ingest figure.
 */
export function edgeBaselineTarget(edge: LocalEdge): Target {
  const events = edgeTarget(edge, 'ingest')
  return {
    system: 'edge-baseline',
    send: async () => {
      const res = await fetch(`${edge.url}/`)
      await res.arrayBuffer()
      return res.ok
    },
    cpu: events.cpu,
  }
}

/** The webhook: HMAC-signed POST; CPU of the server and of the `serf event` processes it ran. */
export function webhookTarget(server: WebhookServer, cluster: string): Target {
  return {
    system: 'webhook',
    send: async (i) => {
      const res = await server.post(eventBody(cluster, 'ingest', String(i)))
      await res.arrayBuffer()
      return res.status === 200
    },
    cpu: () => ({
      webhook: cpuSeconds(server.pid),
      'serf event (children)': reapedChildrenCpuSeconds(server.pid),
    }),
  }
}

/** Keep `concurrency` senders busy for `seconds`, then wait for the ones in flight. */
export async function measureIngest(target: Target, concurrency: number, seconds: number): Promise<IngestRun> {
  const latencies: number[] = []
  let failed = 0
  let next = 0
  const cpuBefore = target.cpu()
  const clientBefore = process.cpuUsage()
  const start = nowMs()
  const stopAt = start + seconds * 1000
  const sender = async () => {
    while (nowMs() < stopAt) {
      const i = next++
      const sent = nowMs()
      const ok = await target.send(i).catch(() => false)
      if (ok) latencies.push(nowMs() - sent)
      else failed++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, sender))
  const elapsed = (nowMs() - start) / 1000
  const client = process.cpuUsage(clientBefore)
  const cpuAfter = target.cpu()
  const accepted = latencies.length
  const cpuMsPerRequest: Record<string, number> = {}
  for (const [name, after] of Object.entries(cpuAfter)) {
    cpuMsPerRequest[name] = ((after - (cpuBefore[name] ?? 0)) * 1000) / Math.max(accepted, 1)
  }
  return {
    system: target.system,
    concurrency,
    seconds: elapsed,
    accepted,
    failed,
    requestsPerSecond: accepted / elapsed,
    latency: summarize(latencies),
    cpuMsPerRequest,
    clientCpuMsPerRequest: (client.user + client.system) / 1000 / Math.max(accepted + failed, 1),
  }
}
