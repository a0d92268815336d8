/**
 * Serf RPC wire protocol (IPC version 1): command table, request/response shapes, the error
 * texts agents send, and the errors a call ends in. Serf's capitalised keys stay here and in
 * `serf-rpc.ts`. Source of truth: hashicorp/serf `cmd/serf/command/agent/ipc.go`.
 */

import { ipText } from './ip-text.ts'

/** The only IPC protocol version Serf agents speak (`MinIPCVersion` = `MaxIPCVersion` = 1). */
export const IPC_VERSION = 1

/** Default RPC address, the same as `serf event -rpc-addr`. */
export const DEFAULT_RPC_ADDR = '127.0.0.1:7373'

/**
 * The commands this client uses, and whether a *successful* response carries a body after the
 * header. A response whose header has a non-empty `Error` never carries a body for these.
 * `streams`: the first answer is a bare header, then records follow on the same `Seq`, each a
 * header and a body, until the last one (`query`: a `done` record; `stream`: until `stop`).
 */
export const COMMANDS = {
  handshake: { hasResponseBody: false, streams: false },
  auth: { hasResponseBody: false, streams: false },
  event: { hasResponseBody: false, streams: false },
  stats: { hasResponseBody: true, streams: false },
  members: { hasResponseBody: true, streams: false },
  stop: { hasResponseBody: false, streams: false },
  stream: { hasResponseBody: false, streams: true },
  query: { hasResponseBody: false, streams: true },
} as const

export type CommandName = keyof typeof COMMANDS

/** The commands answered with a stream of records. */
export type StreamCommand = {
  [K in CommandName]: (typeof COMMANDS)[K]['streams'] extends true ? K : never
}[CommandName]

/** The commands answered once. */
export type ReplyCommand = Exclude<CommandName, StreamCommand>

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

/** `query`: `Timeout` in nanoseconds (a Go `time.Duration`), 0 for Serf's default. */
export interface QueryRequest {
  FilterNodes: string[]
  /** Tag name -> regular expression. */
  FilterTags: Record<string, string>
  RequestAck: boolean
  RelayFactor: number
  Timeout: number
  Name: string
  Payload: Uint8Array
}

/** `stream`: a comma-separated event filter, e.g. `member-join,user:deploy`. */
export interface StreamRequest {
  Type: string
}

/** `stop`: the `Seq` of the `stream` to end. */
export interface StopRequest {
  Stop: number
}

/** What may follow a request header (`stats` and `members` send none). */
export type RequestBody = HandshakeRequest | AuthRequest | EventRequest | QueryRequest | StreamRequest | StopRequest

/** A member as `members` and member events carry it; `Addr` is a Go `net.IP` (4 or 16 bytes). */
export interface WireMember {
  Name: string
  Addr: Uint8Array
  Port: number
  Tags: Record<string, string> | null
  Status: string
}

/** `members` body. */
export interface MembersResponse {
  Members: WireMember[]
}

/** One record of a `query` stream; `Payload` is nil (null) for `ack` and `done`. */
export interface QueryRecordBody {
  Type: string
  From: string
  Payload: Uint8Array | null
}

/** One record of a `stream` subscription to member events. */
export interface MemberEventBody {
  Event: string
  Members: WireMember[]
}

/** The member events a `stream` can subscribe to (`Type` filter of `stream`). */
export const MEMBER_EVENTS = 'member-join,member-leave,member-failed,member-update,member-reap'

/** A member of the cluster, as the agent sees it; `status` is `alive`, `leaving`, `left`, `failed`. */
export interface SerfMember {
  name: string
  /** The IP address as text (`127.0.0.1`, `2001:db8::1`). */
  addr: string
  port: number
  status: string
  tags: Record<string, string>
}

/** A member event: `member-join`, `member-leave`, `member-failed`, `member-update`, `member-reap`. */
export interface SerfMemberEvent {
  event: string
  members: SerfMember[]
}

/** What a query asks, as `serf query` takes it. */
export interface SerfQueryParams {
  name: string
  payload?: Uint8Array
  /** Only these nodes answer (`-node`). */
  filterNodes?: string[]
  /** Only nodes whose tag matches the regular expression answer (`-tag key=regex`). */
  filterTags?: Record<string, string>
  /** Nodes ack receipt (`serf query` asks for acks unless `-no-ack`). Default true. */
  requestAck?: boolean
  /** Extra copies of each answer relayed through other nodes (`-relay-factor`). */
  relayFactor?: number
  /** How long nodes may answer; 0 or absent for Serf's default. */
  timeoutMs?: number
}

/** One record of a running query: an ack, a node's response, or `done` (the last one). */
export interface SerfQueryRecord {
  type: 'ack' | 'response' | 'done'
  /** The node that acked or answered; `''` for `done`. */
  from: string
  payload: Uint8Array
}

/** The `query` body for `params`. */
export function toQueryRequest(params: SerfQueryParams): QueryRequest {
  return {
    FilterNodes: params.filterNodes ?? [],
    FilterTags: params.filterTags ?? {},
    RequestAck: params.requestAck ?? true,
    RelayFactor: params.relayFactor ?? 0,
    Timeout: Math.round((params.timeoutMs ?? 0) * 1_000_000),
    Name: params.name,
    Payload: params.payload ?? new Uint8Array(),
  }
}

/**
 * A query record in camelCase; undefined for an ack or response from no node. At the deadline
 * Serf closes the query's ack and response channels (serf/query.go `Close`) while the agent's
 * stream still selects on them beside its own `done` timer (ipc_query_response_stream.go), so
 * it may send a burst of such empty records before `done`: they are no answers.
 * @throws {SerfRpcError} for a record type this client does not know
 */
export function toQueryRecord(body: QueryRecordBody): SerfQueryRecord | undefined {
  const { Type, From, Payload } = body
  if (Type !== 'ack' && Type !== 'response' && Type !== 'done')
    throw new SerfRpcError(`unknown query record type '${Type}'`)
  if (Type !== 'done' && !From) return undefined
  return { type: Type, from: From ?? '', payload: Payload ?? new Uint8Array() }
}

/** A member event in camelCase. */
export function toMemberEvent(body: MemberEventBody): SerfMemberEvent {
  return { event: body.Event, members: body.Members.map(toSerfMember) }
}

/** A member in camelCase, its address as text. */
export function toSerfMember(member: WireMember): SerfMember {
  return {
    name: member.Name,
    addr: ipText(member.Addr),
    port: member.Port,
    status: member.Status,
    tags: member.Tags ?? {},
  }
}

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
