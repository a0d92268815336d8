/**
 * Serf RPC wire protocol (IPC version 1): command table, request/response shapes, the error
 * texts agents send, and the errors a call ends in. Serf's capitalised keys stay here and in
 * `serf-rpc.ts`. Source of truth: hashicorp/serf `cmd/serf/command/agent/ipc.go`.
 */

/** The only IPC protocol version Serf agents speak (`MinIPCVersion` = `MaxIPCVersion` = 1). */
export const IPC_VERSION = 1

/** Default RPC address, the same as `serf event -rpc-addr`. */
export const DEFAULT_RPC_ADDR = '127.0.0.1:7373'

/**
 * The commands this client uses, and whether a *successful* response carries a body after the
 * header. A response whose header has a non-empty `Error` never carries a body for these.
 */
export const COMMANDS = {
  handshake: { hasResponseBody: false },
  auth: { hasResponseBody: false },
  event: { hasResponseBody: false },
  stats: { hasResponseBody: true },
} as const

export type CommandName = keyof typeof COMMANDS

/** Sent before every request. */
export interface RequestHeader {
  Command: CommandName
  Seq: number
}

/** Sent before every response; `Error` is `''` on success. */
export interface ResponseHeader {
  Seq: number
  Error: string
}

export interface HandshakeRequest {
  Version: number
}

export interface AuthRequest {
  AuthKey: string
}

export interface EventRequest {
  Name: string
  Payload: Uint8Array
  Coalesce: boolean
}

/** What may follow a request header (`stats` sends none). */
export type RequestBody = HandshakeRequest | AuthRequest | EventRequest

/** `stats` body: section -> key -> value, every value a string (`"agent"`, `"serf"`, ...). */
export type StatsResponse = Record<string, Record<string, string>>

/** The `serf` section of `stats`, numbers parsed; `raw` keeps every section as Serf sent it. */
export interface SerfStats {
  /** `agent.name`. */
  nodeName: string
  members: number
  failed: number
  left: number
  healthScore: number
  memberTime: number
  eventTime: number
  queryTime: number
  intentQueue: number
  eventQueue: number
  queryQueue: number
  coordinateResets: number
  encrypted: boolean
  raw: StatsResponse
}

/** The `stats` body with the `serf` section's strings parsed into numbers. */
export function toSerfStats(raw: StatsResponse): SerfStats {
  const serf = raw.serf ?? {}
  const num = (key: string) => Number(serf[key] ?? Number.NaN)
  return {
    nodeName: raw.agent?.name ?? '',
    members: num('members'),
    failed: num('failed'),
    left: num('left'),
    healthScore: num('health_score'),
    memberTime: num('member_time'),
    eventTime: num('event_time'),
    queryTime: num('query_time'),
    intentQueue: num('intent_queue'),
    eventQueue: num('event_queue'),
    queryQueue: num('query_queue'),
    coordinateResets: num('coordinate_resets'),
    encrypted: serf.encrypted === 'true',
    raw,
  }
}

/** Error texts an agent puts in `ResponseHeader.Error`, quoted from `ipc.go` and `serf.go`. */
export const SERF_ERRORS = {
  handshakeRequired: 'Handshake required',
  unsupportedIpcVersion: 'Unsupported IPC version',
  duplicateHandshake: 'Handshake already performed',
  unsupportedCommand: 'Unsupported command',
  authRequired: 'Authentication required',
  invalidAuthToken: 'Invalid authentication token',
} as const

/**
 * The size-limit rejections of `Serf.UserEvent` (Debian serf 0.9.4, `serf version` 0.8.2-dev):
 * - `user event exceeds configured limit of N bytes before encoding`: len(name) + len(payload) > N
 * - `encoded user event exceeds configured limit of N bytes after encoding`: the gossip message
 *   (1 type byte + msgpack {LTime, Name, Payload, CC}) > N: len(name) + len(payload) + 25
 *   + 1..9 bytes for LTime + 1 or 3 bytes per old-spec raw header (3 from 32 bytes up). So the
 *   most name + payload accepted is N - 30 for a short name while LTime < 128, and never below
 *   N - 40.
 * - `user event exceeds sane limit of N bytes before encoding`: over 9216, which no agent accepts
 *   as its configured limit anyway.
 */
export const SIZE_LIMIT_ERROR = /^(encoded )?user event exceeds (configured|sane) limit of \d+/

/** True if `value` has the shape of a response header. */
export function isResponseHeader(value: unknown): value is ResponseHeader {
  if (typeof value !== 'object' || value === null) return false
  const header = value as Record<string, unknown>
  return typeof header.Seq === 'number' && typeof header.Error === 'string'
}

/** Base class of every error this client throws. */
export class SerfRpcError extends Error {
  override name = 'SerfRpcError'
}

/** Dialing failed, or the connection dropped with the request in flight; reconnect and retry. */
export class SerfConnectionError extends SerfRpcError {
  override name = 'SerfConnectionError'
}

/** The agent did not answer within the request timeout; the request's outcome is unknown. */
export class SerfTimeoutError extends SerfRpcError {
  override name = 'SerfTimeoutError'
}

/** `close()` was called; the client accepts no more requests. */
export class SerfClosedError extends SerfRpcError {
  override name = 'SerfClosedError'
  constructor() {
    super('Serf RPC client is closed')
  }
}

/** The agent answered with an error; `message` is Serf's text, unchanged. */
export class SerfRemoteError extends SerfRpcError {
  override name = 'SerfRemoteError'
  readonly command: CommandName
  constructor(command: CommandName, serfText: string) {
    super(serfText)
    this.command = command
  }
  /** The agent refused the event as too large (`user_event_size_limit`); resending cannot help. */
  get isSizeLimit(): boolean {
    return SIZE_LIMIT_ERROR.test(this.message)
  }
  /** The token was missing or wrong (`rpc_auth`). */
  get isAuthFailure(): boolean {
    const { authRequired, invalidAuthToken } = SERF_ERRORS
    return this.message === authRequired || this.message === invalidAuthToken
  }
}
