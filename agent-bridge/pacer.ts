/**
 * Pacing on the agent's own broadcast queue. Serf gossips queued user events newest first and
 * drops, on the receiving node, any event more than 512 Lamport ticks older than the newest it
 * has seen ("received old event"). A burst pushed straight into the agent therefore loses
 * events on the other nodes. The pacer keeps the agent's `serf.event_queue` below a ceiling,
 * so the Lamport spread of what is in flight stays far under 512 and every node gets every
 * event, while sending as fast as gossip drains the queue.
 */

/** What the pacer needs from the agent. */
export interface QueueProbe {
  eventQueue(): Promise<number>
}

export interface PacerOptions {
  /** Most event broadcasts allowed in the agent's queue (default 128, far below 512). */
  maxQueue?: number
  /** Resume sending once the queue is down to this (default half of `maxQueue`). */
  resumeAt?: number
  /** How often to read the queue while waiting (default 20 ms). */
  probeIntervalMs?: number
  /** Most events per second (default: no cap beyond the queue ceiling). */
  maxRate?: number
  /** Called once per wait with how long it took, for metrics. */
  onWait?: (waitedMs: number) => void
}

export class Pacer {
  readonly #probe: QueueProbe
  readonly #maxQueue: number
  readonly #resumeAt: number
  readonly #intervalMs: number
  readonly #onWait: (waitedMs: number) => void
  readonly #gapMs: number
  #nextSlot = 0
  /** Events sent since the queue was last read: an upper bound on what they added. */
  #unseen = 0
  #lastQueue = 0

  constructor(probe: QueueProbe, options: PacerOptions = {}) {
    this.#probe = probe
    this.#maxQueue = options.maxQueue ?? 128
    this.#resumeAt = options.resumeAt ?? Math.floor(this.#maxQueue / 2)
    this.#intervalMs = options.probeIntervalMs ?? 20
    this.#onWait = options.onWait ?? (() => {})
    this.#gapMs = options.maxRate ? 1000 / options.maxRate : 0
  }

  /** Wait, if needed, until one more event may be sent; then count it as sent. */
  async admit(signal?: AbortSignal): Promise<void> {
    if (this.#gapMs > 0) {
      const now = performance.now()
      // A slot missed by more than a few gaps is not owed: no catch-up burst after idling.
      this.#nextSlot = Math.max(this.#nextSlot, now - 4 * this.#gapMs)
      if (this.#nextSlot > now) await new Promise((resolve) => setTimeout(resolve, this.#nextSlot - now))
      this.#nextSlot += this.#gapMs
    }
    if (this.#lastQueue + this.#unseen >= this.#maxQueue) {
      const started = performance.now()
      await this.#drainTo(this.#resumeAt, signal)
      this.#onWait(performance.now() - started)
    }
    this.#unseen++
  }

  async #drainTo(level: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      this.#lastQueue = await this.#probe.eventQueue()
      this.#unseen = 0
      if (this.#lastQueue <= level) return
      signal?.throwIfAborted()
      await new Promise((resolve) => setTimeout(resolve, this.#intervalMs))
    }
  }
}
