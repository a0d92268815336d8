/**
 * Pacing of user events into the local Serf agent. What the pacer relies on (Serf 0.9.4 with
 * memberlist 0.2.x, read in `serf/serf.go`, `serf/delegate.go`, `memberlist/queue.go`,
 * `memberlist/state.go`, `memberlist/net.go`):
 *
 * - **Few transmissions.** Every node sends each user-event broadcast only
 *   `RetransmitMult * ceil(log10(members + 1))` times: 2 with the `local` profile and 3 nodes,
 *   4 with `lan`. Those sends go to whichever peer the next UDP packet goes to: a gossip round
 *   (every 100 ms `local` / 200 ms `lan`, one packet per peer in random order, and a round
 *   reaches only one of two peers about 5 % of the time), or a ping or ack the broadcast rides
 *   on. So both sends of an event often go to the same peer. The third node then depends on
 *   that peer passing it on, with the same odds, and a miss loses it silently: no log line, no
 *   UDP error. Whole bursts go together, since they ride in the same packets.
 * - **Anti-entropy repairs only the last 512.** Push/pull (every 15 s `local`, 30 s `lan`,
 *   each node with a random peer) carries the sender's 512-slot event buffer and delivers what
 *   the other side missed. A missed event is repaired only while it is among the newest 512,
 *   so the repair is certain only below about 512 / 15 s = 34 events/s (`local`); faster,
 *   gossip misses stay lost.
 * - **Newest first.** The broadcast queue sends fewest-transmissions first, then largest,
 *   then newest, so a deep queue starves older events; a receiver drops an event more than 512
 *   Lamport ticks behind the newest it has seen (`received old event`). The queue ceiling
 *   keeps what is in flight small (one gossip packet holds about 30 small events).
 * - **Handlers bound the rate.** A node hands each event to its handlers one at a time; up to
 *   about 3,100 events wait in channels (1024 + 1024 + 1024 + 64). When that is full, the
 *   node's UDP message handler blocks inside `handleUserEvent`, incoming messages pile up in a
 *   1024-deep queue that memberlist serves newest first (LIFO), and the oldest go stale
 *   (`received old event`) or are dropped (`handler queue full`). On the bridge's own node a
 *   full pipeline shows as the `event` RPC blocking, and so as a slow `stats` answer (the agent
 *   answers a connection's requests in order): the pacer then halves its rate. Other nodes'
 *   pipelines are invisible over RPC: the rate cap must stay below their handler throughput.
 * - **No peer, no drain.** With no other live member nothing gossips, `serf.event_queue` only
 *   grows, and waiting for it would wait forever: then only the rate cap applies.
 *
 * Note: `received old event` also appears without any loss, when a push/pull arrives from a
 * peer a few events behind (its not-yet-overwritten slots look 512 ticks old).
 */

import { type Clock, realClock } from '../protocol/timing.ts'

/** What the pacer reads from the agent's `stats`. */
export interface AgentSample {
  /** `serf.event_queue`: user-event broadcasts still queued for gossip. */
  eventQueue: number
  /** `serf.members`, `serf.failed`, `serf.left`: members known, of them failed and left. */
  members: number
  failed?: number
  left?: number
}

export interface AgentProbe {
  sample(): Promise<AgentSample>
}

export interface PacerOptions {
  /**
   * Most events per second (default 25; 0 = no cap). Below Serf's repair limit of 512 events
   * per push/pull interval (34/s with the `local` profile) and below the handler throughput of
   * every node; raise it only for fast handlers on a `lan` cluster that can lose an event.
   */
  maxRate?: number
  /** Most event broadcasts allowed in the agent's queue (default 32, about one gossip packet). */
  maxQueue?: number
  /** Resume sending once the queue is down to this (default half of `maxQueue`). */
  resumeAt?: number
  /** How often to read the queue while waiting (default 20 ms). */
  probeIntervalMs?: number
  /** Read `stats` at least this often while sending (default 1,000 ms). */
  sampleEveryMs?: number
  /** A `stats` answer slower than this means the agent blocks on its handlers (default 250 ms). */
  slowAgentMs?: number
  /** Called once per wait with how long it took, for metrics. */
  onWait?: (waitedMs: number) => void
  /** Time as the pacer sees it (default the real, monotonic one). */
  clock?: Clock
}

export class Pacer {
  readonly #probe: AgentProbe
  readonly #maxQueue: number
  readonly #resumeAt: number
  readonly #intervalMs: number
  readonly #sampleEveryMs: number
  readonly #slowAgentMs: number
  readonly #onWait: (waitedMs: number) => void
  readonly #maxRate: number
  readonly #clock: Clock
  /** Current rate: `maxRate`, or less after the agent was seen blocking. */
  #rate: number
  #nextSlot = 0
  #lastSample = Number.NEGATIVE_INFINITY
  /** Events sent since the queue was last read: an upper bound on what they added. */
  #unseen = 0
  #lastQueue = 0
  #peers = true

  constructor(probe: AgentProbe, options: PacerOptions = {}) {
    this.#probe = probe
    this.#maxQueue = options.maxQueue ?? 32
    this.#resumeAt = options.resumeAt ?? Math.floor(this.#maxQueue / 2)
    this.#intervalMs = options.probeIntervalMs ?? 20
    this.#sampleEveryMs = options.sampleEveryMs ?? 1_000
    this.#slowAgentMs = options.slowAgentMs ?? 250
    this.#onWait = options.onWait ?? (() => {})
    this.#maxRate = options.maxRate === 0 ? Number.POSITIVE_INFINITY : (options.maxRate ?? 25)
    this.#rate = this.#maxRate
    this.#clock = options.clock ?? realClock
  }

  /** Current events-per-second ceiling (Infinity: none). */
  get rate(): number {
    return this.#rate
  }

  /**
   * Wait, if needed, until one more event may be sent; then count it as sent.
   * @throws the signal's reason when it aborts during a wait
   */
  async admit(signal?: AbortSignal): Promise<void> {
    const clock = this.#clock
    const started = clock.now()
    let waited = false
    if (Number.isFinite(this.#rate)) {
      const gap = 1000 / this.#rate
      const now = clock.now()
      // A slot missed by more than a few gaps is not owed: no catch-up burst after idling.
      this.#nextSlot = Math.max(this.#nextSlot, now - 4 * gap)
      if (this.#nextSlot > now) await clock.sleep(this.#nextSlot - now, signal)
      this.#nextSlot += gap
    }
    if (clock.now() - this.#lastSample >= this.#sampleEveryMs) await this.#sample()
    if (this.#peers && this.#lastQueue + this.#unseen >= this.#maxQueue) {
      waited = true
      await this.#drainTo(this.#resumeAt, signal)
    }
    if (waited) this.#onWait(clock.now() - started)
    this.#unseen++
  }

  /** Read `stats` once; adjust the rate on how long the agent took to answer. */
  async #sample(): Promise<void> {
    const asked = this.#clock.now()
    const s = await this.#probe.sample()
    this.#lastSample = this.#clock.now()
    const tookMs = this.#lastSample - asked
    this.#lastQueue = s.eventQueue
    this.#unseen = 0
    // Live members other than this one; gossip (and so the queue) only drains with one.
    this.#peers = s.members - (s.failed ?? 0) - (s.left ?? 0) > 1
    if (tookMs > this.#slowAgentMs) {
      // The agent's own handler pipeline is full: events are arriving faster than handlers
      // run. Back off well below that; other nodes are likely as far behind.
      const current = Number.isFinite(this.#rate) ? this.#rate : 1000
      this.#rate = Math.max(1, current / 2)
      this.#nextSlot = this.#lastSample + tookMs
    } else if (this.#rate < this.#maxRate) {
      this.#rate = Math.min(this.#maxRate, this.#rate * 1.1 + 0.5)
    }
  }

  async #drainTo(level: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      await this.#sample()
      if (!this.#peers || this.#lastQueue <= level) return
      signal?.throwIfAborted()
      await this.#clock.sleep(this.#intervalMs, signal)
    }
  }
}
