/**
 * Serf RPC client: one TCP connection to a local `serf agent`, msgpack framed, requests
 * pipelined and matched to responses by `Seq`, streamed answers read until their last record
 * (hashicorp/serf `client/rpc_client.go` in Node).
 */
import { decodeMultiStream, encode } from '@msgpack/msgpack'
import { type BackoffPolicy, backoffDelay, sleep } from '../protocol/timing.ts'
import { type Connection, concat, openConnection, parseAddress } from './serf-rpc-connection.ts'
import { ReplyHandler, type SeqHandler, StreamHandler } from './serf-rpc-handlers.ts'
import {
  type CommandName,
  DEFAULT_RPC_ADDR,
  IPC_VERSION,
  isResponseHeader,
  MEMBER_EVENTS,
  type MemberEventBody,
  type MembersResponse,
  type QueryRecordBody,
  type ReplyCommand,
  type RequestBody,
  type RequestHeader,
  SerfClosedError,
  SerfConnectionError,
  type SerfMember,
  type SerfMemberEvent,
  type SerfQueryParams,
  type SerfQueryRecord,
  SerfRemoteError,
  SerfRpcError,
  type SerfStats,
  SerfTimeoutError,
  type StatsResponse,
  type StreamCommand,
  toMemberEvent,
  toQueryRecord,
  toQueryRequest,
  toSerfMember,
  toSerfStats,
} from './serf-rpc-wire.ts'

export type { SerfMember, SerfMemberEvent, SerfQueryParams, SerfQueryRecord, SerfStats }
export { SerfClosedError, SerfConnectionError, SerfRemoteError, SerfRpcError, SerfTimeoutError }

/** Where and how to reach the agent, as `serf event` takes it (`-rpc-addr`, `-rpc-auth`). */
export interface SerfRpcConfig {
  /** `host:port`; default `127.0.0.1:7373`. */
  address?: string
  /** `rpc_auth` token; empty or absent means no `auth` call. */
  authKey?: string
}

export interface SerfRpcOptions extends SerfRpcConfig {
  /** Per-request timeout, also the dial timeout. Default 10 s. */
  requestTimeoutMs?: number
  /** Reconnect backoff of `connectWithRetry`: first delay, cap, growth factor. */
  backoff?: { initialDelayMs?: number; maxDelayMs?: number; multiplier?: number }
}

export interface ConnectWithRetryOptions {
  /** Stops retrying; the call then rejects with `signal.reason`. */
  signal?: AbortSignal
  /** Called before each wait, e.g. to log the failed attempt. */
  onRetry?: (info: { attempt: number; delayMs: number; error: SerfRpcError }) => void
}

/**
 * Reads `SERF_RPC_ADDR` and `SERF_RPC_AUTH` the way `serf event` does.
 * @example new SerfRpcClient(rpcConfigFromEnv(process.env))
 */
export function rpcConfigFromEnv(env: Record<string, string | undefined>) {
  const config: Required<SerfRpcConfig> = {
    address: env.SERF_RPC_ADDR || DEFAULT_RPC_ADDR,
    authKey: env.SERF_RPC_AUTH ?? '',
  }
  return config
}

/** A `stream` subscription: its records until `stop()`; the connection's loss ends it with an error. */
export interface SerfSubscription<T> extends AsyncIterable<T> {
  /** Ends the subscription (`stop`); the `for await` over it then ends. */
  stop(): Promise<void>
}

/**
 * A Serf RPC client on one connection. Requests may be pipelined; the agent answers a
 * connection's requests in order, so events keep the order in which `event()` was called.
 * @example
 * const serf = new SerfRpcClient({ address: '127.0.0.1:7373', authKey: token })
 * await serf.connectWithRetry({ signal })
 * await serf.event('deploy', new TextEncoder().encode('v42'), false)
 */
export class SerfRpcClient {
  readonly address: string
  #host: string
  #port: number
  #authKey: string
  #timeoutMs: number
  #backoff: BackoffPolicy
  #conn: Connection | undefined
  #connecting: Promise<void> | undefined
  #seq = 0
  #closing = new AbortController()

  constructor(options: SerfRpcOptions = {}) {
    this.address = options.address || DEFAULT_RPC_ADDR
    const { host, port } = parseAddress(this.address)
    this.#host = host
    this.#port = port
    this.#authKey = options.authKey ?? ''
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000
    const { initialDelayMs = 100, maxDelayMs = 5_000, multiplier = 2 } = options.backoff ?? {}
    this.#backoff = { initialMs: initialDelayMs, maxMs: maxDelayMs, multiplier }
  }

  /** True once `handshake` (and `auth`) succeeded, until the connection drops. */
  get connected(): boolean {
    return this.#conn?.ready === true
  }

  /**
   * Dials the agent, then `handshake` and, with a token, `auth`. Does nothing when connected.
   * @throws SerfConnectionError, SerfTimeoutError, SerfRemoteError (e.g. a wrong token)
   */
  connect(): Promise<void> {
    if (this.#closing.signal.aborted) return Promise.reject(new SerfClosedError())
    if (this.#conn?.ready) return Promise.resolve()
    this.#connecting ??= this.#open().finally(() => (this.#connecting = undefined))
    return this.#connecting
  }

  /**
   * `connect()` until it succeeds, waiting with exponential backoff after a connection error or
   * timeout. A `SerfRemoteError` (wrong token) is a configuration error and is thrown at once.
   */
  async connectWithRetry({ signal, onRetry }: ConnectWithRetryOptions = {}): Promise<void> {
    const stop = signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.connect()
      } catch (error) {
        const retryable = error instanceof SerfConnectionError || error instanceof SerfTimeoutError
        if (!retryable) throw error
        const delayMs = backoffDelay(this.#backoff, attempt)
        onRetry?.({ attempt, delayMs, error })
        await sleep(delayMs, stop)
      }
    }
  }

  /**
   * Fires a user event, as `serf event [-coalesce=false] name payload` does.
   * @throws SerfRemoteError with Serf's text when the agent refuses it (size limit, auth)
   */
  async event(name: string, payload: Uint8Array = new Uint8Array(), coalesce = true) {
    await this.#request('event', { Name: name, Payload: payload, Coalesce: coalesce })
  }

  /** The agent's `stats`; `eventQueue` is how many user-event broadcasts are still queued. */
  async stats(): Promise<SerfStats> {
    return toSerfStats((await this.#request('stats')) as StatsResponse)
  }

  /**
   * Runs a query, as `serf query` does. Resolves once the agent started it, with its records
   * as they come: acks, responses, and `done` at the deadline, the last one.
   * @example
   * for await (const record of await serf.query({ name: 'uptime', timeoutMs: 2_000 })) console.log(record)
   * @throws SerfRemoteError with Serf's text when the agent refuses it (size limit, `_serf_` prefix);
   * the records end with SerfConnectionError when the connection is lost before `done`
   */
  async query(params: SerfQueryParams): Promise<AsyncIterable<SerfQueryRecord>> {
    const { handler } = await this.#stream('query', toQueryRequest(params), {
      toRecord: (body) => toQueryRecord(body as QueryRecordBody),
      isLast: (record) => record.type === 'done',
    })
    return handler.records
  }

  /** The cluster's members as the agent sees them, `left` and `failed` ones included. */
  async members(): Promise<SerfMember[]> {
    const { Members } = (await this.#request('members')) as MembersResponse
    return Members.map(toSerfMember)
  }

  /**
   * Subscribes to member events (`stream` of join, leave, failed, update, reap) until `stop()`.
   * The agent drops events for a subscriber that reads too slowly (512 buffered).
   */
  async memberEvents(): Promise<SerfSubscription<SerfMemberEvent>> {
    const { conn, seq, handler } = await this.#stream(
      'stream',
      { Type: MEMBER_EVENTS },
      { toRecord: (body) => toMemberEvent(body as MemberEventBody), isLast: () => false },
    )
    return {
      [Symbol.asyncIterator]: () => handler.records[Symbol.asyncIterator](),
      stop: async () => {
        // As rpc_client.go: stop delivering first; then tell the agent, if this connection lives.
        handler.stop()
        if (this.#conn === conn && conn.ready) await this.#send(conn, 'stop', { Stop: seq })
      },
    }
  }

  /** Closes the connection for good; in-flight requests and retries fail with SerfClosedError. */
  async close(): Promise<void> {
    this.#closing.abort(new SerfClosedError())
    const conn = this.#conn
    if (conn) this.#drop(conn, new SerfClosedError())
    await conn?.closed
  }

  async #open(): Promise<void> {
    const conn = await openConnection(this.#host, this.#port, this.#timeoutMs)
    if (this.#closing.signal.aborted) {
      conn.socket.destroy()
      throw new SerfClosedError()
    }
    this.#conn = conn
    void this.#read(conn)
    try {
      await this.#send(conn, 'handshake', { Version: IPC_VERSION })
      if (this.#authKey) await this.#send(conn, 'auth', { AuthKey: this.#authKey })
    } catch (error) {
      this.#drop(conn, error as Error)
      throw error
    }
    conn.ready = true
  }

  /** The one generic request: a command and its body on the current connection, one answer. */
  #request(command: ReplyCommand, body?: RequestBody): Promise<unknown> {
    const conn = this.#ready()
    return conn instanceof Error ? Promise.reject(conn) : this.#send(conn, command, body)
  }

  /** Starts a streamed command; resolves with its handler once the agent answered the start. */
  async #stream<T>(
    command: StreamCommand,
    body: RequestBody,
    parts: { toRecord: (body: unknown) => T | undefined; isLast: (record: T) => boolean },
  ): Promise<{ conn: Connection; seq: number; handler: StreamHandler<T> }> {
    const conn = this.#ready()
    if (conn instanceof Error) throw conn
    const { seq, handler } = this.#register(
      conn,
      (finish) => new StreamHandler(command, this.#timeoutMs, { ...parts, finish }),
    )
    this.#write(conn, seq, command, body)
    await handler.started
    return { conn, seq, handler }
  }

  #ready(): Connection | SerfRpcError {
    if (this.#closing.signal.aborted) return new SerfClosedError()
    return this.#conn?.ready ? this.#conn : this.#notConnected()
  }

  #notConnected(): SerfConnectionError {
    return new SerfConnectionError(`not connected to Serf agent at ${this.address}`)
  }

  #send(conn: Connection, command: ReplyCommand, body?: RequestBody): Promise<unknown> {
    if (conn.socket.destroyed) return Promise.reject(this.#notConnected())
    const { seq, handler } = this.#register(conn, (finish) => new ReplyHandler(command, this.#timeoutMs, finish))
    this.#write(conn, seq, command, body)
    return handler.answer
  }

  /** Takes the next `Seq` and registers its handler before anything is written. */
  #register<H extends SeqHandler>(conn: Connection, create: (finish: () => void) => H): { seq: number; handler: H } {
    const seq = ++this.#seq
    const handler = create(() => conn.handlers.delete(seq))
    conn.handlers.set(seq, handler)
    return { seq, handler }
  }

  /** Writes header and body in one write, so pipelined requests never interleave. */
  #write(conn: Connection, seq: number, command: CommandName, body?: RequestBody): void {
    const header: RequestHeader = { Command: command, Seq: seq }
    conn.socket.write(body === undefined ? encode(header) : concat(encode(header), encode(body)))
  }

  /** The one reader of a connection: each header goes to its `Seq`'s handler, then its body. */
  async #read(conn: Connection): Promise<void> {
    let bodyFor: SeqHandler | undefined
    let failure: unknown
    try {
      for await (const message of decodeMultiStream(conn.socket)) {
        if (bodyFor) {
          bodyFor.body(message)
          bodyFor = undefined
          continue
        }
        if (!isResponseHeader(message)) throw new Error('expected a response header')
        const handler = conn.handlers.get(message.Seq)
        // Serf answers twice when a request is refused before auth (it then reads the request's
        // body as a header); the second answer carries an error and no body, so drop it.
        if (!handler && message.Error !== '') continue
        if (!handler) throw new Error(`response for unknown request ${message.Seq}`)
        if (handler.header(message)) bodyFor = handler
      }
    } catch (error) {
      failure = error
    }
    const reason = failure instanceof Error ? `: ${failure.message}` : ''
    const message = `lost connection to Serf agent at ${this.address}${reason}`
    this.#drop(conn, new SerfConnectionError(message, { cause: failure }))
  }

  /** Fails every request and stream in flight on `conn` and forgets the connection. */
  #drop(conn: Connection, error: Error): void {
    if (this.#conn === conn) this.#conn = undefined
    conn.socket.destroy()
    for (const handler of conn.handlers.values()) handler.fail(error)
    conn.handlers.clear()
  }
}
