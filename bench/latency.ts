/**
 * Figure 1: end-to-end latency, one non-coalesced event at a time. Each sample starts on the
 * sender's clock and ends when the recorder on the last of the three nodes ran; the next
 * sample starts only after that, after a random pause so samples do not lock onto the
 * gossip timer's phase.
 */
import type { ClusterArrivals } from './cluster.ts'
import { nowMs, type Summary, sleep, summarize } from './stats.ts'
import type { EventSystem, SystemId } from './systems.ts'

export interface LatencyOptions {
  samples: number
  /** Unmeasured samples first (connections, JIT). */
  warmup?: number
  /** A sample not seen on every node by then counts as lost (and is replaced). */
  timeoutMs?: number
  /** Upper bound of the random pause between samples (default 100 ms, one gossip interval). */
  jitterMs?: number
}

export interface LatencyResult {
  system: SystemId
  /** Sender start → the system accepted the event (202 / RPC reply / hook output). */
  accepted: Summary
  /** Sender start → recorder ran on node-0, the node the event enters Serf at. */
  firstNode: Summary
  /** Sender start → recorder ran on the last of the three nodes: end-to-end. */
  lastNode: Summary
  /** End-to-end samples in ms, in order, for the chart. */
  endToEnd: number[]
  lost: number
  /** Samples whose last node ran more than 1 s after node-0: a gossip miss repaired later. */
  lateOnSomeNode: number
  errors: string[]
}

export async function measureLatency(
  system: EventSystem,
  arrivals: ClusterArrivals,
  options: LatencyOptions,
): Promise<LatencyResult> {
  const { samples, warmup = 5, timeoutMs = 15_000, jitterMs = 100 } = options
  const accepted: number[] = []
  const firstNode: number[] = []
  const lastNode: number[] = []
  const errors: string[] = []
  let lost = 0
  const name = `lat-${system.id}`
  // A lost sample is replaced, so the figure has `samples` measurements; bounded all the same.
  const attempts = warmup + Math.ceil(samples * 1.2)
  for (let i = 0; i < attempts && lastNode.length < samples; i++) {
    await sleep(Math.random() * jitterMs)
    const payload = String(i)
    const start = nowMs()
    try {
      await system.fire(name, payload)
    } catch (error) {
      errors.push((error as Error).message)
      if (errors.length > 10) throw new Error(`${system.id}: too many failed sends: ${errors.join('; ')}`)
      continue
    }
    const acceptedAt = nowMs()
    const deadline = acceptedAt + timeoutMs
    let times: (number | undefined)[] = []
    for (;;) {
      await arrivals.refresh()
      times = arrivals.times(name, payload)
      if (times.every((t) => t !== undefined) || nowMs() > deadline) break
      await sleep(2)
    }
    if (i < warmup) continue
    if (times.some((t) => t === undefined)) {
      lost++
      continue
    }
    const seen = times as number[]
    accepted.push(acceptedAt - start)
    firstNode.push(seen[0]! - start)
    lastNode.push(Math.max(...seen) - start)
  }
  return {
    system: system.id,
    accepted: summarize(accepted),
    firstNode: summarize(firstNode),
    lastNode: summarize(lastNode),
    endToEnd: lastNode,
    lost,
    lateOnSomeNode: lastNode.filter((last, k) => last - firstNode[k]! > 1000).length,
    errors,
  }
}
