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
 * - **Anti-entropy repairs only the last 512.** Push/pull carries a node's 512-slot event
 *   buffer to a random peer once per interval (15 s `local`, 30 s `lan`, 60 s `wan`, longer
 *   above 32 members). A missed event is repaired only while it is among the newest 512, so the
 *   pace follows the cluster: 95 % of 512 per interval, slower for events too large for gossip
 *   to carry at that rate (gossip-limits.ts). The profile is a flag (the RPC does not tell it);
 *   the member count comes from each `stats` read.
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
 *   pipelines are invisible over RPC: the pace must stay below their handler throughput.
 * - **No peer, no drain.** With no other live member nothing gossips, `serf.event_queue` only
 *   grows, and waiting for it would wait forever: then only the pace applies.
 *
 * Note: `received old event` also appears without any loss, when a push/pull arrives from a
 * peer a few events behind (its not-yet-overwritten slots look 512 ticks old).
 */

import { type Clock, realClock } from '../protocol/timing.ts'
import {
  type ClusterView,
  describePace,
  eventGapMs,
  type GossipProfile,
  type Pace,
  paceFor,
  paceReason,
} from './gossip-limits.ts'

/** What the pacer reads from the agent's `stats`. */
export interface AgentSample {
  /** `serf.event_queue`: user-event broadcasts still queued for gossip. */
  eventQueue: number
  /** `serf.members`, `serf.failed`, `serf.left`: members known, of them failed and left. */
  members: number
  failed?: number
  left?: number
  /** `serf.encrypted`: gossip packets carry 29 bytes less. */
  encrypted?: boolean
}

export interface AgentProbe {
  sample(): Promise<AgentSample>
}

/** The pace the pacer keeps from now on, and why. */
export interface PaceChange {
  view: ClusterView
  /** The pace the cluster allows. */
  pace: Pace
  /** Events per second kept: `pace.rate`, or `maxRate` when given (Infinity: no cap). */
  rate: number
  /** `maxRate` was given: gossip misses above `pace.repairRate` may never be repaired. */
  overridden: boolean
}

/**
 * What the operator reads when the pace is set or changes: at warn when `-max-rate` goes beyond
 * what Serf can repair.
 * @example paceMessage(pacer.pace).message // 'pace 16.2/s: lan profile, 3 members, push/pull every 30 s, …'
 */
export function paceMessage({ view, pace, rate, overridden }: PaceChange): { level: 'info' | 'warn'; message: string } {
  if (!overridden) return { level: 'info', message: describePace(view, pace) }
  const set = Number.isFinite(rate) ? `pace ${rate}/s: set by -max-rate` : 'no pace: -max-rate=0'
  const allowed = `${pace.rate.toFixed(1)}/s this cluster allows (${paceReason(view, pace)})`
  if (rate <= pace.rate) return { level: 'info', message: `${set}, within the ${allowed}` }
  return {
    level: 'warn',
    message: `${set}, above the ${allowed}: an event that gossip misses on a node may never reach it`,
  }
}

/** A slow `stats` answer halved the rate: the agent's own handlers are behind. */
export interface Backoff {
  /** How long the agent took to answer `stats`. */
  answeredMs: number
  /** Events per second before and after halving. */
  from: number
  to: number
}

export interface PacerOptions {
  /** The agents' `-profile` (default `lan`, Serf's own); with the member count it sets the pace. */
  profile?: GossipProfile
  /**
   * Events per second instead of the pace the cluster allows (0 = no cap). Above that pace a
   * node that misses an event in gossip may never get it; the queue and slow-agent rules still
   * apply.
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
  /** Called at the first `stats` read and whenever the members change the pace. */
  onPace?: (change: PaceChange) => void
  /** Called each time a slow `stats` answer halves the rate, with how long it took. */
  onBackoff?: (backoff: Backoff) => void
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
  readonly #onPace: (change: PaceChange) => void
  readonly #onBackoff: (backoff: Backoff) => void
  /** `maxRate` when given (Infinity for 0), replacing the cluster's pace. */
  readonly #override: number | undefined
  readonly #clock: Clock
  #view: ClusterView
  #pace: Pace
  #announced = false
  /** Current rate: the pace (or the override), or less after the agent was seen blocking. */
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
    this.#onPace = options.onPace ?? (() => {})
    this.#onBackoff = options.onBackoff ?? (() => {})
    this.#override = options.maxRate === 0 ? Number.POSITIVE_INFINITY : options.maxRate
    this.#clock = options.clock ?? realClock
    // Until the first `stats` read: one member, the fastest pace the profile allows.
    this.#view = { profile: options.profile ?? 'lan', alive: 1, known: 1, encrypted: false }
    this.#pace = paceFor(this.#view)
    this.#rate = this.#ceiling
  }

  /** Current events-per-second ceiling (Infinity: none), before any size-based spacing. */
  get rate(): number {
    return this.#rate
  }

  /** The pace the cluster allows, as last read from the agent. */
  get pace(): PaceChange {
    return { view: this.#view, pace: this.#pace, rate: this.#ceiling, overridden: this.#override !== undefined }
  }

  /** Read the agent's `stats` now: learn the members, and so the pace, before the first event. */
  async refresh(): Promise<void> {
    await this.#sample()
  }

  /**
   * Wait, if needed, until one more event of `encodedBytes` (as Serf encodes it) may be sent;
   * then count it as sent.
   * @throws the signal's reason when it aborts during a wait
   */
  async admit(encodedBytes: number, signal?: AbortSignal): Promise<void> {
    const clock = this.#clock
    const started = clock.now()
    let waited = false
    const gap = this.#gapMs(encodedBytes)
    if (Number.isFinite(gap)) {
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

  /** The rate the pace or the override sets, before slow-agent backoff. */
  get #ceiling(): number {
    return this.#override ?? this.#pace.rate
  }

  /** Milliseconds from this event to the next (Infinity-rate: 0). */
  #gapMs(encodedBytes: number): number {
    if (!Number.isFinite(this.#rate)) return 0
    // The operator's rate replaces the cluster's limits, gossip capacity included.
    if (this.#override !== undefined) return 1000 / this.#rate
    return eventGapMs(this.#view, this.#rate, encodedBytes)
  }

  /** Read `stats` once; follow the members' pace; adjust the rate on how long the agent took. */
  async #sample(): Promise<void> {
    const asked = this.#clock.now()
    const s = await this.#probe.sample()
    this.#lastSample = this.#clock.now()
    const tookMs = this.#lastSample - asked
    this.#lastQueue = s.eventQueue
    this.#unseen = 0
    // Live members, this one included; gossip (and so the queue) only drains with another.
    const alive = s.members - (s.failed ?? 0) - (s.left ?? 0)
    this.#peers = alive > 1
    this.#follow({ profile: this.#view.profile, alive, known: s.members, encrypted: s.encrypted ?? false })
    if (tookMs > this.#slowAgentMs) {
      // The agent's own handler pipeline is full: events are arriving faster than handlers
      // run. Back off well below that; other nodes are likely as far behind.
      const current = Number.isFinite(this.#rate) ? this.#rate : 1000
      this.#rate = Math.max(1, current / 2)
      this.#nextSlot = this.#lastSample + tookMs
      this.#onBackoff({ answeredMs: tookMs, from: current, to: this.#rate })
    } else if (this.#rate < this.#ceiling) {
      this.#rate = Math.min(this.#ceiling, this.#rate * 1.1 + 0.5)
    }
  }

  /** Take the pace of the cluster as `view` shows it; tell when it changed. */
  #follow(view: ClusterView): void {
    const pace = paceFor(view)
    const changed = pace.rate !== this.#pace.rate || pace.fullRateBytes !== this.#pace.fullRateBytes
    const before = this.#ceiling
    this.#view = view
    this.#pace = pace
    // A backed-off rate climbs back to the new ceiling as it would to the old one.
    this.#rate = this.#rate >= before ? this.#ceiling : Math.min(this.#rate, this.#ceiling)
    if (changed || !this.#announced) {
      this.#announced = true
      this.#onPace(this.pace)
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
