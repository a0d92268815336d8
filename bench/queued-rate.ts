/**
 * The bridge's delivery rate while it had work queued, apart from how fast the edge took the
 * events in: a burst through a local edge is often bounded by its intake (wrangler dev on the
 * same cores as the agents), and a rate over the whole burst then measures the intake, not the
 * pace. The backlog at a moment is every event the edge had accepted and no node had yet run a
 * handler for: events at the edge, in the bridge's batch, or just handed to Serf. Only the
 * stretches where it held at least `minBacklog` count, from `fromMs` (the bridge's start) on.
 */

export interface QueuedDelivery {
  /** The backlog a stretch needs to count: events accepted and not yet at any node. */
  minBacklog: number
  /** Time in such stretches, seconds. */
  seconds: number
  /** Events that first reached a node during them. */
  delivered: number
  /** `delivered / seconds`: the bridge's rate while it had work queued. */
  rate: number
  /** Separate stretches: 1 when the backlog never fell below `minBacklog` until the end. */
  stretches: number
  /** `seconds` over the time from `fromMs` to the last first arrival. */
  share: number
}

/**
 * @param acceptedMs when the edge accepted each event (monotonic ms; undefined: refused)
 * @param firstArrivalMs when each event first reached a node's handler (undefined: never)
 * @example queuedDelivery([0, 0, 0], [10, 20, 30], 0, 1) // 3 events in 30 ms: 100/s, 1 stretch
 */
export function queuedDelivery(
  acceptedMs: readonly (number | undefined)[],
  firstArrivalMs: readonly (number | undefined)[],
  fromMs: number,
  minBacklog: number,
): QueuedDelivery {
  // +1 as the edge accepts an event, −1 as it first arrives; acceptances first on a tie.
  const steps: [number, 1 | -1][] = []
  for (const t of acceptedMs) if (t !== undefined) steps.push([t, 1])
  for (const t of firstArrivalMs) if (t !== undefined) steps.push([t, -1])
  steps.sort((a, b) => a[0] - b[0] || b[1] - a[1])
  let backlog = 0
  let start: number | undefined
  let seconds = 0
  let delivered = 0
  let stretches = 0
  let lastArrival = fromMs
  const close = (t: number) => {
    if (start !== undefined && t > start) {
      seconds += (t - start) / 1000
      stretches++
    }
    start = undefined
  }
  for (const [t, step] of steps) {
    if (step < 0) {
      lastArrival = Math.max(lastArrival, t)
      if (start !== undefined && t >= start) delivered++
    }
    backlog += step
    if (backlog >= minBacklog && start === undefined) start = Math.max(t, fromMs)
    else if (backlog < minBacklog && start !== undefined) close(t)
  }
  // Events never delivered keep the backlog up: the stretch ends with the last arrival.
  close(lastArrival)
  const span = (lastArrival - fromMs) / 1000
  return {
    minBacklog,
    seconds,
    delivered,
    rate: seconds > 0 ? delivered / seconds : 0,
    stretches,
    share: span > 0 ? seconds / span : 0,
  }
}
