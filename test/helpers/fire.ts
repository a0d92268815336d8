/** Bursts of events at a local edge, and the order check every end-to-end delivery test makes. */
import { payloadText, type RecordedUserEvent } from '../../scripts/harness/recorder.ts'

export { type BurstEvent, fireBurst } from '../../scripts/harness/fire.ts'

/**
 * Whether, on one node, the Lamport time of each event's first arrival increases with its
 * queue sequence. The payload is the burst index; `sequences[index]` is the sequence the edge
 * gave that event (concurrent senders make the two differ).
 */
export function lamportFollowsQueue(events: RecordedUserEvent[], sequences: number[]): boolean {
  const first = new Map<number, number>()
  for (const e of events) {
    const sequence = sequences[Number(payloadText(e))]!
    first.set(sequence, Math.min(first.get(sequence) ?? Infinity, e.ltime))
  }
  const ltimes = [...first.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t)
  return ltimes.every((t, k) => k === 0 || t > ltimes[k - 1]!)
}
