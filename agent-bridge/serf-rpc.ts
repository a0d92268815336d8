/**
 * Serf RPC client: one TCP connection to a local `serf agent`, msgpack framed, requests
 * pipelined and matched to responses by `Seq` (hashicorp/serf `client/rpc_client.go` in Node).
 */
import { connect as dial, type Socket } from 'node:net'
import { decodeMultiStream, encode } from '@msgpack/msgpack'
import { type BackoffPolicy, backoffDelay, sleep } from '../protocol/timing.ts'
import {
  COMMANDS,
  type CommandName,
  DEFAULT_RPC_ADDR,
  IPC_VERSION,
  isResponseHeader,
  type RequestBody,
  type RequestHeader,
  SerfClosedError,
  SerfConnectionError,
  SerfRemoteError,
  SerfRpcError,
  type SerfStats,
  SerfTimeoutError,
  type StatsResponse,
  toSerfStats,
} from './serf-rpc-wire.ts'

export type { SerfStats }
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

interface Pending {
  command: CommandName
  resolve: (body: unknown) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
  /** Resolved or rejected; a response arriving after the timeout is read, then dropped. */
  settled: boolean
}

interface Connection {
  socket: Socket
  pending: Map<number, Pending>
  closed: Promise<void>
  /** `handshake` and `auth` succeeded. */
  ready: boolean
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

  #request(command: CommandName, body?: RequestBody): Promise<unknown> {
    if (this.#closing.signal.aborted) return Promise.reject(new SerfClosedError())
    if (!this.#conn?.ready) return Promise.reject(this.#notConnected())
    return this.#send(this.#conn, command, body)
  }

  #notConnected(): SerfConnectionError {
    return new SerfConnectionError(`not connected to Serf agent at ${this.address}`)
  }

  /** Writes header and body in one write, so pipelined requests never interleave. */
  #send(conn: Connection, command: CommandName, body?: RequestBody): Promise<unknown> {
    if (conn.socket.destroyed) return Promise.reject(this.#notConnected())
    const seq = ++this.#seq
    const header: RequestHeader = { Command: command, Seq: seq }
    const frame = body === undefined ? encode(header) : concat(encode(header), encode(body))
    const timeoutMs = this.#timeoutMs
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        entry.settled = true
        reject(new SerfTimeoutError(`Serf agent did not answer '${command}' in ${timeoutMs} ms`))
      }, timeoutMs)
      const entry: Pending = { command, resolve, reject, timer, settled: false }
      conn.pending.set(seq, entry)
      conn.socket.write(frame)
    })
  }

  /** The one reader of a connection: a header, then a body if the request's command has one. */
  async #read(conn: Connection): Promise<void> {
    let awaitingBody: Pending | undefined
    let failure: unknown
    try {
      for await (const message of decodeMultiStream(conn.socket)) {
        if (awaitingBody) {
          settle(awaitingBody, message)
          awaitingBody = undefined
          continue
        }
        if (!isResponseHeader(message)) throw new Error('expected a response header')
        const entry = conn.pending.get(message.Seq)
        // Serf answers twice when a request is refused before auth (it then reads the request's
        // body as a header); the second answer carries an error and no body, so drop it.
        if (!entry && message.Error !== '') continue
        if (!entry) throw new Error(`response for unknown request ${message.Seq}`)
        conn.pending.delete(message.Seq)
        if (message.Error !== '') settle(entry, new SerfRemoteError(entry.command, message.Error))
        else if (COMMANDS[entry.command].hasResponseBody) awaitingBody = entry
        else settle(entry, undefined)
      }
    } catch (error) {
      failure = error
    }
    const reason = failure instanceof Error ? `: ${failure.message}` : ''
    const message = `lost connection to Serf agent at ${this.address}${reason}`
    this.#drop(conn, new SerfConnectionError(message, { cause: failure }))
  }

  /** Fails every request in flight on `conn` and forgets the connection. */
  #drop(conn: Connection, error: Error): void {
    if (this.#conn === conn) this.#conn = undefined
    conn.socket.destroy()
    for (const entry of conn.pending.values()) settle(entry, error)
    conn.pending.clear()
  }
}

function settle(entry: Pending, outcome: unknown): void {
  clearTimeout(entry.timer)
  if (entry.settled) return
  entry.settled = true
  if (outcome instanceof Error) entry.reject(outcome)
  else entry.resolve(outcome)
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const frame = new Uint8Array(a.length + b.length)
  frame.set(a)
  frame.set(b, a.length)
  return frame
}

function openConnection(host: string, port: number, timeoutMs: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = dial({ host, port })
    const closed = new Promise<void>((done) => socket.once('close', () => done()))
    const fail = (detail: string, cause?: unknown) => {
      clearTimeout(timer)
      socket.destroy()
      const message = `cannot connect to Serf agent at ${host}:${port}: ${detail}`
      reject(new SerfConnectionError(message, { cause }))
    }
    const timer = setTimeout(() => fail(`no answer in ${timeoutMs} ms`), timeoutMs)
    socket.once('error', (error) => fail(error.message, error))
    socket.once('connect', () => {
      clearTimeout(timer)
      // Errors after this point surface through the reader loop; keep them from crashing.
      socket.on('error', () => {})
      socket.setNoDelay(true)
      resolve({ socket, pending: new Map(), closed, ready: false })
    })
  })
}

/** Splits `host:port` or `[v6]:port` as Go's `net.Dial` reads it. */
function parseAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address)
  if (!match) throw new SerfRpcError(`invalid Serf RPC address '${address}', want host:port`)
  return { host: match[1] || '127.0.0.1', port: Number(match[2]) }
}
