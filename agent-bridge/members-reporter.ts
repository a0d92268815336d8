/**
 * The members report: the cluster's members as the agent sees them, sent to the edge when this
 * bridge takes the lease, after each burst of member events (a `stream` subscription), and at
 * least every `intervalMs`, so the edge can tell people outside who is alive, and since when.
 */
import type { Logger } from 'pino'
import { EdgeProblemError } from '../protocol/problem.ts'
import { type BackoffPolicy, backoffDelay, pause } from '../protocol/timing.ts'
import type { EdgeClient } from './edge-client.ts'
import { type BridgeMetrics, edgeErrorKind } from './metrics.ts'
import type { SerfMemberEvent, SerfRpcClient, SerfSubscription } from './serf-rpc.ts'

export interface MembersReporterParts {
  bridgeId: string
  edge: EdgeClient
  /** The delivery loop's client: the subscription shares its connection. */
  serf: SerfRpcClient
  /** The lease token the delivery loop holds, or null while it stands by. */
  leaseToken: () => number | null
  /** Brings a dropped agent connection back, as the delivery loop does (a restarted agent included). */
  reconnect: () => Promise<void>
  logger: Logger
  metrics: BridgeMetrics
  /** Longest time between reports (default 60 s). */
  intervalMs?: number
  /** A burst of member events is reported this long after its first event (default 250 ms). */
  debounceMs?: number
  /** Backoff after failures (defaults 500 ms, 30 s). */
  backoff?: BackoffPolicy
}

/** Longest `stop()` waits for the report loop to end. */
const STOP_BOUND_MS = 2_000
/** How often the loop looks at the lease and the connection while nothing else happens. */
const RECHECK_MS = 1_000

export class MembersReporter {
  readonly #p: MembersReporterParts
  readonly #stop = new AbortController()
  #loop: Promise<void> | undefined
  #subscription: SerfSubscription<SerfMemberEvent> | undefined
  /** When the first member event not reported yet arrived. */
  #changedAt: number | undefined
  #wake: () => void = () => {}
  /** Members per status in the last report, to log only what changed at info. */
  #lastSummary = ''

  constructor(parts: MembersReporterParts) {
    this.#p = parts
  }

  /** Start reporting, until {@link stop}. */
  start(): void {
    this.#loop ??= this.#run()
  }

  /**
   * Stop reporting and end the subscription. Bounded: a slow agent's answer to the last `members`
   * or `stop` call must not hold up the bridge's shutdown (closing the connection ends it anyway).
   */
  async stop(): Promise<void> {
    this.#stop.abort()
    this.#wake()
    const bound = new AbortController()
    await Promise.race([this.#loop, pause(STOP_BOUND_MS, bound.signal)])
    bound.abort()
  }

  async #run(): Promise<void> {
    const { serf, leaseToken, reconnect, intervalMs = 60_000, debounceMs = 250 } = this.#p
    const signal = this.#stop.signal
    let reportedUnder: number | null = null
    let dueAt = 0
    let failures = 0
    while (!signal.aborted) {
      const token = leaseToken()
      if (token === null) {
        await this.#unsubscribe()
        reportedUnder = null
        await pause(250, signal)
        continue
      }
      try {
        if (!serf.connected) await unlessAborted(reconnect(), signal)
        if (signal.aborted) break
        if (!this.#subscription) await this.#subscribe()
        const now = performance.now()
        const burstSettled = this.#changedAt !== undefined && now >= this.#changedAt + debounceMs
        if (burstSettled || token !== reportedUnder || now >= dueAt) {
          this.#changedAt = undefined
          await this.#report(token)
          reportedUnder = token
          dueAt = performance.now() + intervalMs
          failures = 0
        }
        const reportAt = Math.min(dueAt, this.#changedAt === undefined ? dueAt : this.#changedAt + debounceMs)
        await this.#waitUntil(reportAt)
      } catch (error) {
        if (signal.aborted) break
        // Whatever happened since the last report is still to be told.
        this.#changedAt ??= performance.now()
        await pause(this.#retryDelay(error, ++failures), signal)
      }
    }
    await this.#unsubscribe()
  }

  async #subscribe(): Promise<void> {
    const { serf, logger } = this.#p
    const subscription = await serf.memberEvents()
    this.#subscription = subscription
    // A new subscription may follow a restarted agent: report at once.
    this.#changedAt = Number.NEGATIVE_INFINITY
    void (async () => {
      try {
        for await (const { event, members } of subscription) {
          logger.info({ event, members: members.map((m) => `${m.name}:${m.status}`) }, 'member event')
          this.#changedAt ??= performance.now()
          this.#wake()
        }
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'member event stream ended; subscribing again')
      } finally {
        if (this.#subscription === subscription) this.#subscription = undefined
        this.#wake()
      }
    })()
  }

  async #unsubscribe(): Promise<void> {
    const subscription = this.#subscription
    this.#subscription = undefined
    await subscription?.stop().catch(() => {})
  }

  async #report(leaseToken: number): Promise<void> {
    const { serf, edge, bridgeId, logger, metrics } = this.#p
    const members = await serf.members()
    await edge.reportMembers({ bridgeId, leaseToken, members }, this.#stop.signal)
    metrics.membersReports.inc()
    const byStatus: Record<string, number> = {}
    for (const { status } of members) byStatus[status] = (byStatus[status] ?? 0) + 1
    metrics.members.reset()
    for (const [status, count] of Object.entries(byStatus)) metrics.members.set({ status }, count)
    const summary = JSON.stringify(byStatus)
    const level = summary === this.#lastSummary ? 'debug' : 'info'
    this.#lastSummary = summary
    logger[level]({ members: members.length, ...byStatus }, 'members reported')
  }

  /** Until `at` (performance.now), a member event, the subscription's end or stop; at most RECHECK_MS. */
  #waitUntil(at: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wake(), Math.max(0, Math.min(at - performance.now(), RECHECK_MS)))
      this.#wake = () => {
        clearTimeout(timer)
        this.#wake = () => {}
        resolve()
      }
    })
  }

  /** How long to wait after the `failures`-th failure in a row, logged and counted. */
  #retryDelay(error: unknown, failures: number): number {
    const { logger, metrics, intervalMs = 60_000 } = this.#p
    // The lease changed under the delivery loop, which learns it on its next call.
    if (error instanceof EdgeProblemError && (error.is('lease-lost') || error.is('lease-held'))) return 1_000
    const kind = edgeErrorKind(error)
    if (kind !== 'other') metrics.edgeErrors.inc({ kind })
    const err = (error as Error).message
    // An edge without the members endpoint (an older one) or a refused key: try again later.
    if (error instanceof EdgeProblemError && !error.retryable) {
      const level = error.is('not-found') ? 'info' : 'warn'
      logger[level]({ err, retryInMs: intervalMs }, 'the edge refused the members report')
      return intervalMs
    }
    const delayMs = backoffDelay(this.#p.backoff ?? { initialMs: 500, maxMs: 30_000 }, failures)
    logger.warn({ err, retryInMs: delayMs }, 'reporting members failed; retrying')
    return delayMs
  }
}

/** Waits for `work`, or only until `signal` aborts: a reconnect must not hold up `stop()`. */
function unlessAborted(work: Promise<void>, signal: AbortSignal): Promise<void> {
  work.catch(() => {})
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve()
    signal.addEventListener('abort', () => resolve(), { once: true })
    work.then(resolve, reject)
  })
}
