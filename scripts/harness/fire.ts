/** Queue many events at a local edge with bounded concurrency, through the sender SDK. */
import type { RetryOptions } from '../../client/edge-request.ts'
import { fireEvent } from '../../client/sdk.ts'
import type { EventAccepted } from '../../protocol/wire.ts'
import type { LocalEdge } from './local-edge.ts'

export interface BurstEvent {
  name: string
  payload?: string | Uint8Array
  coalesce?: boolean
  /** The SDK's retries of an unanswered request (same request id, so the edge queues it once). */
  retry?: RetryOptions
}

/**
 * Fire `count` events made by `make(i)` as the edge's first sender; answers come back in `i`
 * order.
 * @example await fireBurst(edge, 'main', 100, (i) => ({ name: 'load', payload: String(i), coalesce: false }))
 */
export async function fireBurst(
  edge: LocalEdge,
  cluster: string,
  count: number,
  make: (i: number) => BurstEvent,
  concurrency = 32,
  /** Called as the edge accepts event `i`. */
  onAccepted?: (i: number) => void,
): Promise<EventAccepted[]> {
  const answers = new Array<EventAccepted>(count)
  let next = 0
  const sender = Object.keys(edge.senderKeys)[0]!
  async function worker() {
    while (next < count) {
      const i = next++
      answers[i] = await fireEvent({ edgeUrl: edge.url, cluster, sender, key: edge.senderKeys[sender]!, ...make(i) })
      onAccepted?.(i)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return answers
}
