/** Queue many events at a local edge with bounded concurrency, through the sender SDK. */
import { fireEvent } from '../../client/sdk.ts'
import type { EventAccepted } from '../../protocol/wire.ts'
import type { LocalEdge } from './edge.ts'
import type { RecordedUserEvent } from './serf-agent.ts'

export interface BurstEvent {
  name: string
  payload?: string | Uint8Array
  coalesce?: boolean
}

/** Fire `count` events made by `make(i)`; answers come back in `i` order. */
export async function fireBurst(
  edge: LocalEdge,
  cluster: string,
  count: number,
  make: (i: number) => BurstEvent,
  concurrency = 32,
): Promise<EventAccepted[]> {
  const answers = new Array<EventAccepted>(count)
  let next = 0
  const sender = Object.keys(edge.senderKeys)[0]!
  async function worker() {
    while (next < count) {
      const i = next++
      answers[i] = await fireEvent({ edgeUrl: edge.url, cluster, sender, key: edge.senderKeys[sender]!, ...make(i) })
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return answers
}

/**
 * Whether, on one node, the Lamport time of each event's first arrival increases with its
 * queue sequence. The payload is the burst index; `sequences[index]` is the sequence the edge
 * gave that event (concurrent senders make the two differ).
 */
export function lamportFollowsQueue(events: RecordedUserEvent[], sequences: number[]): boolean {
  const first = new Map<number, number>()
  for (const e of events) {
    const sequence = sequences[Number(new TextDecoder().decode(e.payload))]!
    first.set(sequence, Math.min(first.get(sequence) ?? Infinity, e.ltime))
  }
  const ltimes = [...first.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t)
  return ltimes.every((t, k) => k === 0 || t > ltimes[k - 1]!)
}
