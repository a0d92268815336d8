/**
 * What the reader loop of a Serf RPC connection does with the answers on one sequence number:
 * settle a single reply, or hand on a stream's records until its last one (the `seqHandler`s of
 * hashicorp/serf `client/rpc_client.go`).
 */
import { COMMANDS, type CommandName, type ResponseHeader, SerfRemoteError, SerfTimeoutError } from './serf-rpc-wire.ts'

/** Handles the answers on one `Seq`; registered before the request is written. */
export interface SeqHandler {
  /** A header for this `Seq` arrived; returns true when a body follows it. */
  header(header: ResponseHeader): boolean
  /** The body that followed this handler's last header. */
  body(body: unknown): void
  /** The connection ended: no more answers will come. */
  fail(error: Error): void
}

/**
 * The one answer of a request (`genericRPC`): a header, and a body if the command has one.
 * After a timeout it stays registered, so the late answer is still read, then dropped.
 */
export class ReplyHandler implements SeqHandler {
  readonly answer: Promise<unknown>
  readonly #command: CommandName
  readonly #finish: () => void
  readonly #timer: NodeJS.Timeout
  #settle: (outcome: unknown) => void = () => {}

  /** `finish` deregisters the handler: its last answer arrived. */
  constructor(command: CommandName, timeoutMs: number, finish: () => void) {
    this.#command = command
    this.#finish = finish
    this.answer = new Promise((resolve, reject) => {
      this.#settle = (outcome) => {
        this.#settle = () => {}
        clearTimeout(this.#timer)
        if (outcome instanceof Error) reject(outcome)
        else resolve(outcome)
      }
    })
    this.#timer = setTimeout(() => {
      this.#settle(new SerfTimeoutError(`Serf agent did not answer '${command}' in ${timeoutMs} ms`))
    }, timeoutMs)
  }

  header(header: ResponseHeader): boolean {
    if (header.Error === '' && COMMANDS[this.#command].hasResponseBody) return true
    this.#finish()
    this.#settle(header.Error === '' ? undefined : new SerfRemoteError(this.#command, header.Error))
    return false
  }

  body(body: unknown): void {
    this.#finish()
    this.#settle(body)
  }

  fail(error: Error): void {
    this.#settle(error)
  }
}

/**
 * A streamed answer (`query`, `stream`): the first header says whether the agent started it,
 * then every record goes to `records` (unless `toRecord` drops it as undefined) until `isLast`
 * says it was the last one; the handler lives until then, or until the connection ends, which
 * fails the records with its error.
 */
export class StreamHandler<T> implements SeqHandler {
  /** Resolves once the agent started the stream; rejects with its refusal or a timeout. */
  readonly started: Promise<void>
  readonly records = new RecordStream<T>()
  readonly #command: CommandName
  readonly #toRecord: (body: unknown) => T | undefined
  readonly #isLast: (record: T) => boolean
  readonly #finish: () => void
  readonly #timer: NodeJS.Timeout
  #begun = false
  /** Records still arrive but nobody reads them: after `stop`, a timeout, or a bad record. */
  #discarding = false
  #start: (error?: Error) => void = () => {}

  constructor(
    command: CommandName,
    timeoutMs: number,
    parts: { toRecord: (body: unknown) => T | undefined; isLast: (record: T) => boolean; finish: () => void },
  ) {
    this.#command = command
    this.#toRecord = parts.toRecord
    this.#isLast = parts.isLast
    this.#finish = parts.finish
    this.started = new Promise((resolve, reject) => {
      this.#start = (error) => {
        this.#start = () => {}
        clearTimeout(this.#timer)
        if (error) reject(error)
        else resolve()
      }
    })
    this.#timer = setTimeout(() => {
      const error = new SerfTimeoutError(`Serf agent did not answer '${command}' in ${timeoutMs} ms`)
      this.#start(error)
      this.#discard(error)
    }, timeoutMs)
  }

  header(header: ResponseHeader): boolean {
    const refusal = header.Error === '' ? undefined : new SerfRemoteError(this.#command, header.Error)
    if (refusal) {
      this.#finish()
      this.#start(refusal)
      this.records.fail(refusal)
      return false
    }
    if (this.#begun) return true
    this.#begun = true
    this.#start()
    return false
  }

  body(body: unknown): void {
    let record: T | undefined
    try {
      record = this.#toRecord(body)
    } catch (error) {
      this.#discard(error as Error)
      return
    }
    if (record === undefined) return
    if (!this.#discarding) this.records.push(record)
    if (!this.#isLast(record)) return
    this.#finish()
    this.records.end()
  }

  fail(error: Error): void {
    this.#start(error)
    this.records.fail(error)
  }

  /**
   * Hand on no more records: the stream was stopped. Records the agent had already buffered
   * may still come, and are read and dropped.
   */
  stop(): void {
    this.#discarding = true
    this.records.end()
  }

  #discard(error: Error): void {
    this.#discarding = true
    this.records.fail(error)
  }
}

/**
 * Records as they arrive, read with `for await`; the loop ends after the last one, or throws
 * the error that ended the stream once the records that came before it are read.
 */
export class RecordStream<T> implements AsyncIterable<T> {
  #buffer: T[] = []
  #ended = false
  #error: Error | undefined
  #wake: () => void = () => {}

  push(record: T): void {
    if (this.#ended) return
    this.#buffer.push(record)
    this.#wake()
  }

  end(): void {
    this.#ended = true
    this.#wake()
  }

  fail(error: Error): void {
    if (this.#ended) return
    this.#error = error
    this.end()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const next = this.#buffer.shift()
      if (next !== undefined) {
        yield next
        continue
      }
      if (this.#error) throw this.#error
      if (this.#ended) return
      await new Promise<void>((resolve) => (this.#wake = resolve))
    }
  }
}
