/**
 * The events the edge handed over and the bridge has not acknowledged yet, and emitting them:
 * in queue order on one RPC connection, paced, only while the lease is current, and all of them
 * again after the connection dropped.
 */
import type { Logger } from 'pino'
import { fromBase64 } from '../protocol/bytes.ts'
import { serfEncodedSizeBound } from '../protocol/event.ts'
import type { QueuedEvent } from '../protocol/wire.ts'
import type { AgentLink, Outcome, Sent } from './agent-link.ts'
import type { HeldLease } from './held-lease.ts'
import type { BridgeMetrics } from './metrics.ts'
import { type PaceChange, Pacer, type PacerOptions, paceMessage } from './pacer.ts'

export interface UnackedBatchParts {
  agent: AgentLink
  pacing?: Omit<PacerOptions, 'onWait' | 'onPace' | 'onBackoff' | 'clock'>
  /** Emitting stops once this lapses. */
  lease: HeldLease
  logger: Logger
  metrics: BridgeMetrics
  /** The bridge stopping: emit nothing more. */
  stop: AbortSignal
}

/** Emitted events taken out of the batch to be acknowledged. */
export interface EmittedRun {
  first: number
  through: number
  outcomes: Outcome[]
}

export class UnackedBatch {
  readonly #p: UnackedBatchParts
  readonly #pacer: Pacer
  /** In queue order; `#outcomes` are Serf's answers for a prefix of them. */
  #events: QueuedEvent[] = []
  #outcomes: Outcome[] = []

  constructor(parts: UnackedBatchParts) {
    this.#p = parts
    const { agent, metrics } = parts
    this.#pacer = new Pacer(
      { sample: () => agent.sample() },
      {
        ...parts.pacing,
        onWait: (ms) => {
          metrics.pacingWaits.inc()
          metrics.pacingWaitSeconds.inc(ms / 1000)
        },
        onPace: (change) => logPace(parts.logger, change),
        onBackoff: ({ answeredMs, from, to }) => {
          metrics.paceBackoffs.inc()
          parts.logger.warn(
            { answeredMs: Math.round(answeredMs), from: Number(from.toFixed(2)), to: Number(to.toFixed(2)) },
            `Serf took ${Math.round(answeredMs)} ms to answer stats: its handlers are behind; pace halved to ${to.toFixed(1)}/s`,
          )
        },
      },
    )
  }

  /** Read the agent's members now, so the pace is known (and logged) before the first batch. */
  async readPace(): Promise<void> {
    await this.#pacer.refresh()
  }

  /** Events held, emitted or not. */
  get size(): number {
    return this.#events.length
  }

  /** Events emitted into Serf (accepted or refused by it) and not taken out yet. */
  get emitted(): number {
    return this.#outcomes.length
  }

  /** Events not emitted yet. */
  get toEmit(): number {
    return this.#events.length - this.#outcomes.length
  }

  /** Append events the edge handed over; they follow every event held, in queue order. */
  add(events: QueuedEvent[]): void {
    this.#events.push(...events)
  }

  /**
   * Emit every event not emitted yet, until done, the lease lapses or the bridge stops. When
   * the RPC connection breaks, nothing unacknowledged is known to have left the agent:
   * reconnect and send all of it again.
   */
  async emit(): Promise<void> {
    for (;;) {
      const lost = await this.#emitRest()
      if (!lost || this.#p.stop.aborted) return
      await this.resend(lost)
    }
  }

  /** The connection broke (`error`): forget every outcome, reconnect, emit again from the start. */
  async resend(error: Error): Promise<void> {
    const { logger, metrics } = this.#p
    metrics.reemitted.inc(this.#outcomes.length)
    logger.warn(
      { err: error.message, from: this.#events[0]?.sequence, resent: this.#outcomes.length },
      'Serf RPC connection lost before the batch left the agent; reconnecting to send it again',
    )
    this.#outcomes = []
    metrics.reconnects.inc()
    await this.#p.agent.connect()
  }

  /** Forget the outcomes: the connection broke and nothing is known to have left the agent. */
  forgetOutcomes(): void {
    this.#outcomes = []
  }

  /** Take the emitted prefix out, to persist and acknowledge it; null when nothing was emitted. */
  takeEmitted(): EmittedRun | null {
    const outcomes = this.#outcomes
    if (outcomes.length === 0) return null
    const first = this.#events[0]!.sequence
    this.#events = this.#events.slice(outcomes.length)
    this.#outcomes = []
    return { first, through: outcomes.at(-1)!.sequence, outcomes }
  }

  /** Drop every event held, emitted or not; returns what was dropped, for the log. */
  abandon(): { from: number; through: number; dropped: number; emitted: number } | null {
    if (this.#events.length === 0) return null
    const dropped = {
      from: this.#events[0]!.sequence,
      through: this.#events.at(-1)!.sequence,
      dropped: this.#events.length,
      emitted: this.#outcomes.length,
    }
    this.#events = []
    this.#outcomes = []
    return dropped
  }

  /**
   * Pipeline what is still to emit into Serf, paced, appending each outcome in order; stop
   * early when the lease lapses. Returns the error that broke the connection, or null.
   */
  async #emitRest(): Promise<Error | null> {
    const { agent, lease, stop } = this.#p
    const pacer = this.#pacer
    const events = this.#events
    const sent: Promise<Sent>[] = []
    for (let i = this.#outcomes.length; i < events.length && !stop.aborted; i++) {
      try {
        await pacer.admit(encodedSize(events[i]!), stop)
      } catch (error) {
        if (stop.aborted) break
        sent.push(Promise.resolve({ sequence: events[i]!.sequence, lost: error as Error }))
        break
      }
      // Checked after the pacer's wait, right before the event leaves: a process paused for
      // longer than its lease must not finish a batch that another bridge now sends.
      if (lease.lapsed) {
        this.#p.metrics.leaseLapses.inc()
        this.#p.logger.warn(
          { next: events[i]!.sequence, left: events.length - i, leaseToken: lease.current?.token },
          'lease lapsed mid-batch; stopped emitting until the edge confirms it',
        )
        break
      }
      sent.push(agent.emit(events[i]!))
    }
    for (const result of await Promise.all(sent)) {
      if ('lost' in result) return result.lost
      this.#outcomes.push(result)
    }
    return null
  }
}

/** The size Serf's gossip message for `event` has at most. */
function encodedSize(event: QueuedEvent): number {
  return serfEncodedSizeBound({ name: event.name, payload: fromBase64(event.payloadBase64) })
}

/** The pace and why, as the pacer tells it. */
function logPace(logger: Logger, change: PaceChange): void {
  const { view, pace, rate } = change
  const { level, message } = paceMessage(change)
  const fields = {
    rate: Number.isFinite(rate) ? Number(rate.toFixed(2)) : null,
    repairSafeRate: Number(pace.repairRate.toFixed(2)),
    profile: view.profile,
    members: view.alive,
    pushPullSeconds: pace.pushPullMs / 1000,
  }
  logger[level](fields, message)
}
