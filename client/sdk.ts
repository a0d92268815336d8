/**
 * The sender SDK: fire a Serf user event through the edge, read its status, wait for its outcome,
 * read the cluster's audit trail.
 * fetch and WebCrypto only, so it runs in Node ≥ 22 and in Workers alike.
 */
import { type AuditPage, auditPageSchema } from '../protocol/audit.ts'
import { toBase64 } from '../protocol/bytes.ts'
import { newRequestId } from '../protocol/edge-request.ts'
import {
  CLUSTER_ID,
  DEFAULT_USER_EVENT_SIZE_LIMIT,
  eventRequestSchema,
  MAX_USER_EVENT_SIZE_LIMIT,
  serfEventSize,
  toSerfEvent,
} from '../protocol/event.ts'
import { importSignKey, KeyFormatError } from '../protocol/signature.ts'
import { sleep } from '../protocol/timing.ts'
import { type EventAccepted, type EventStatus, eventAcceptedSchema, eventStatusSchema } from '../protocol/wire.ts'
import { DEFAULT_RETRY, type EdgeConnection, type RetryOptions, sendSigned } from './edge-request.ts'
import { ClientConfigError, EventValidationError, EventWaitTimeoutError } from './errors.ts'

/** Where the edge is and who is talking to it; every call takes these. */
export interface SenderOptions {
  /** Base URL of the edge, e.g. `https://serf-edge.example.workers.dev` (a path prefix is kept). */
  edgeUrl: string | URL
  /** Sender id: the edge verifies with this sender's keys and applies its scope. */
  sender: string
  /**
   * Signing key: `whsec_…` (HMAC, `v1`) or `whsk_…` (Ed25519, `v1a`). Several keys (an array,
   * or one string with space-separated keys) all sign each request, to roll a key over.
   */
  key: string | readonly string[]
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch
  /** Aborts the call, retries and waits included. */
  signal?: AbortSignal
  /** Retries on network errors, 5xx and 429 (default: 4 attempts, 250 ms doubling to 5 s). */
  retry?: RetryOptions
  /** Budget of one HTTP attempt (default 30 s). */
  requestTimeoutMs?: number
}

/** {@link SenderOptions} and the cluster a call is about: what every cluster call takes. */
export interface EdgeOptions extends SenderOptions {
  /** Target cluster id, as configured at the edge. */
  cluster: string
}

/** Options of {@link fireEvent}: `serf event [-coalesce] name [payload]`, plus where to send it. */
export interface FireEventOptions extends EdgeOptions {
  name: string
  /** Text is sent as UTF-8; bytes are sent exactly, as base64 on the wire. */
  payload?: string | Uint8Array
  /** Whether Serf may coalesce this event with others of its name (default true, as in Serf). */
  coalesce?: boolean
  /** The `webhook-id` and idempotency key; reuse it to retry safely (default `msg_<uuid>`). */
  requestId?: string
}

/** Options of {@link getEventStatus}: the event id the edge answered with. */
export interface EventStatusOptions extends EdgeOptions {
  id: string
}

/** Options of {@link waitForEvent}. */
export interface WaitForEventOptions extends EventStatusOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number
  /** First pause between reads (default 500 ms); it grows by half each time. */
  pollIntervalMs?: number
  /** Longest pause between reads (default 5 s). */
  maxPollIntervalMs?: number
  /** Called with every status read, `queued` ones included. */
  onStatus?: (status: EventStatus) => void
}

// Fields a newer edge adds to its answers reach the SDK's caller instead of being dropped.
const acceptedAnswer = eventAcceptedSchema.loose()
const statusAnswer = eventStatusSchema.loose()

/**
 * Fire a user event: validated here, signed, sent, retried with the same request id until the
 * edge answers. Resolves once the event is durably queued, like `serf event` returns at once.
 * @example
 * const accepted = await fireEvent({
 *   edgeUrl: 'https://serf-edge.example.workers.dev', cluster: 'prod', sender: 'chatops',
 *   key: process.env.SERF_EDGE_KEY!, name: 'deploy', payload: 'v1.4.2',
 * })
 * console.log(accepted.id, accepted.sequence)
 * @throws {EventValidationError} the edge would refuse this event; nothing was sent
 * @throws {EdgeProblemError} the edge refused it (4xx), or failed (5xx/429) on every attempt
 * @throws {EdgeUnreachableError} no attempt got an answer
 */
export async function fireEvent(options: FireEventOptions): Promise<EventAccepted> {
  const url = clusterUrl(options, 'events')
  const requestId = checkRequestId(options.requestId ?? newRequestId())
  const body = eventBody(options)
  const connection = await connect(options)
  return sendSigned(connection, { method: 'POST', url, body, requestId }, acceptedAnswer)
}

/**
 * Read an event's status: `queued`, `delivered`, `expired`, or `rejected` with Serf's error.
 * @example
 * const status = await getEventStatus({ ...edge, id: accepted.id })
 * if (status.status === 'rejected') console.error(status.error)
 * @throws {EdgeProblemError} e.g. 404 for an id the edge does not know in this cluster
 * @throws {EdgeUnreachableError}
 */
export async function getEventStatus(options: EventStatusOptions): Promise<EventStatus> {
  return readStatus(await connect(options), options)
}

/**
 * Poll an event's status until it leaves `queued`, with a growing, bounded pause between reads.
 * Resolves with the final status (`delivered`, `rejected` or `expired`); the caller decides
 * what a rejection means.
 * @example
 * const accepted = await fireEvent(options)
 * const final = await waitForEvent({ ...options, id: accepted.id, timeoutMs: 30_000 })
 * @throws {EventWaitTimeoutError} still queued at the deadline; carries the last status read
 * @throws {EdgeProblemError}
 * @throws {EdgeUnreachableError}
 */
export async function waitForEvent(options: WaitForEventOptions): Promise<EventStatus> {
  const timeoutMs = options.timeoutMs ?? 60_000
  const deadline = AbortSignal.timeout(timeoutMs)
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline
  const connection = await connect({ ...options, signal })
  const maxInterval = options.maxPollIntervalMs ?? 5000
  let interval = options.pollIntervalMs ?? 500
  let last: EventStatus | undefined
  try {
    for (;;) {
      last = await readStatus(connection, options)
      options.onStatus?.(last)
      if (last.status !== 'queued') return last
      await sleep(interval, signal)
      interval = Math.min(maxInterval, interval * 1.5)
    }
  } catch (error) {
    if (deadline.aborted && !options.signal?.aborted) {
      throw new EventWaitTimeoutError(options.id, timeoutMs, last)
    }
    throw error
  }
}

/** Options of {@link readAudit}: which records of the cluster's trail, oldest first. */
export interface ReadAuditOptions extends EdgeOptions {
  /** Only records at or after this time. */
  since?: Date
  /** Only the attempts of this principal (an API sender's id, or a door's principal). */
  principal?: string
  /** Continue after this record (the `next` of the page before). */
  after?: number
  /** Most records in the page (default 100, at most 500). */
  limit?: number
}

/**
 * Read a page of the cluster's audit trail: every attempt to fire an event, refusals included,
 * each with its event's status now. The sender needs the audit permission on the cluster.
 * @example
 * let page = await readAudit({ ...edge, since: new Date(Date.now() - 3_600_000) })
 * while (page.next !== undefined) page = await readAudit({ ...edge, after: page.next })
 * @throws {EdgeProblemError} e.g. 403 without the audit permission
 * @throws {EdgeUnreachableError}
 */
export async function readAudit(options: ReadAuditOptions): Promise<AuditPage> {
  const query = new URLSearchParams()
  if (options.since) query.set('since', options.since.toISOString())
  if (options.principal) query.set('principal', options.principal)
  if (options.after !== undefined) query.set('after', String(options.after))
  if (options.limit !== undefined) query.set('limit', String(options.limit))
  const url = clusterUrl(options, `audit${query.size > 0 ? `?${query}` : ''}`)
  return sendSigned(await connect(options), { method: 'GET', url }, auditPageSchema.loose())
}

function readStatus(connection: EdgeConnection, options: EventStatusOptions): Promise<EventStatus> {
  if (!options.id) throw new ClientConfigError('an event id is required')
  const url = clusterUrl(options, `events/${encodeURIComponent(options.id)}`)
  return sendSigned(connection, { method: 'GET', url }, statusAnswer)
}

/** The JSON body of the event, checked with the edge's own schema and Serf's hard size limit. */
function eventBody({ cluster, name, payload, coalesce }: FireEventOptions): string {
  const body = {
    cluster,
    name,
    ...(typeof payload === 'string' ? { payload } : {}),
    // Bytes travel as base64 so any byte sequence reaches Serf unchanged.
    ...(payload instanceof Uint8Array ? { payloadBase64: toBase64(payload) } : {}),
    coalesce: coalesce ?? true,
  }
  const parsed = eventRequestSchema.safeParse(body)
  if (!parsed.success) {
    throw new EventValidationError(parsed.error.issues.map((issue) => issue.message).join('; '))
  }
  const size = serfEventSize(toSerfEvent(parsed.data))
  // The cluster's own limit is the edge's to check; beyond Serf's maximum no cluster can take it.
  if (size > MAX_USER_EVENT_SIZE_LIMIT) {
    throw new EventValidationError(
      `event is ${size} bytes (name + payload); Serf refuses more than ` +
        `${MAX_USER_EVENT_SIZE_LIMIT} even at its highest user_event_size_limit ` +
        `(default ${DEFAULT_USER_EVENT_SIZE_LIMIT})`,
    )
  }
  return JSON.stringify(body)
}

/** Signing keys, fetch and retry policy of `options`, for every request of one call. */
export async function connect(options: SenderOptions): Promise<EdgeConnection> {
  if (!options.sender) throw new ClientConfigError('a sender id is required')
  const texts = (typeof options.key === 'string' ? [options.key] : options.key)
    .flatMap((text) => text.split(/[\s,]+/))
    .filter(Boolean)
  if (texts.length === 0) throw new KeyFormatError('no signing key given (whsec_… or whsk_…)')
  return {
    sender: options.sender,
    keys: await Promise.all(texts.map(importSignKey)),
    fetch: options.fetch ?? globalThis.fetch,
    signal: options.signal,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
  }
}

/** The URL of `rest` under the cluster's API, `v1/clusters/{cluster}/{rest}`. */
export function clusterUrl({ edgeUrl, cluster }: EdgeOptions, rest: string): URL {
  if (!CLUSTER_ID.test(cluster)) {
    throw new ClientConfigError(
      `cluster "${cluster}" is not a cluster id (lower-case letters, digits, - and _; at most 63)`,
    )
  }
  return edgeApiUrl(edgeUrl, `clusters/${cluster}/${rest}`)
}

/** The URL of `rest` under the edge's API, `v1/{rest}`, below any path prefix of `edgeUrl`. */
export function edgeApiUrl(edgeUrl: string | URL, rest: string): URL {
  let base: URL
  try {
    base = new URL(edgeUrl)
  } catch {
    throw new ClientConfigError(`edge URL "${String(edgeUrl)}" is not a URL`)
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw new ClientConfigError(`edge URL "${base.href}" must be http(s)`)
  }
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  return new URL(`v1/${rest}`, base)
}

// Header values cannot carry spaces or control characters; the signed content joins on '.'.
function checkRequestId(id: string): string {
  if (!/^[\x21-\x7e]{1,255}$/.test(id)) {
    throw new ClientConfigError('requestId must be 1 to 255 printable ASCII characters, no spaces')
  }
  return id
}
