/**
 * The event recorder: a Serf event handler that appends one line per user event to a file, and
 * the code that reads those lines back. A line is `LTIME<TAB>name<TAB>base64(stdin)`, base64 so
 * a payload of any bytes stays on one line; the bench's compiled recorder (bench/recorder.c)
 * appends `<TAB>arrival-ns`, its CLOCK_MONOTONIC stamp.
 */
import { type FileHandle, open, readFile } from 'node:fs/promises'
import { StringDecoder } from 'node:string_decoder'

/** The variable naming the file the inline recorder and bench/recorder.c append to. */
export const EVENTS_FILE_ENV = 'SERF_TEST_EVENTS_FILE'

/** One line of the recorder: a user event as one node's handler saw it. */
export interface RecordedUserEvent {
  name: string
  ltime: number
  /**
   * The payload: stdin without its last newline, which Serf adds to every non-empty payload not
   * ending in one (so a payload that did end in a newline loses it here; `stdin` keeps it).
   */
  payload: Uint8Array
  /** Exactly what the handler read on stdin. */
  stdin: Uint8Array
  /** When the handler ran: CLOCK_MONOTONIC in ms, the clock of `process.hrtime` (bench/recorder.c only). */
  arrivedMs?: number
}

/**
 * Shell that appends the running user event's line to `destination`, a shell word.
 * @example recordCommand('"$(dirname "$0")/events.tsv"')
 */
export function recordCommand(destination: string): string {
  return (
    `payload=$(base64 -w0); ` +
    `printf '%s\\t%s\\t%s\\n' "$SERF_USER_LTIME" "$SERF_USER_EVENT" "$payload" >> ${destination}`
  )
}

/**
 * An `event_handlers` entry recording every user event to the file in `$SERF_TEST_EVENTS_FILE`.
 * Inline rather than a script file: Serf runs it with `/bin/sh -c`, and every process counts
 * when a burst of events runs the handler once per event on every node.
 */
export const RECORDER_HANDLER = `user=${recordCommand(`"$${EVENTS_FILE_ENV}"`)}`

/** One recorder line as an event; `undefined` for a line that is not one. */
export function parseRecord(line: string): RecordedUserEvent | undefined {
  const [ltime, name, encoded = '', arrivedNs] = line.split('\t')
  if (!name) return undefined
  const stdin = new Uint8Array(Buffer.from(encoded, 'base64'))
  const payload = stdin.at(-1) === 0x0a ? stdin.subarray(0, -1) : stdin
  const event: RecordedUserEvent = { name, ltime: Number(ltime), payload, stdin }
  if (arrivedNs) event.arrivedMs = Number(arrivedNs) / 1e6
  return event
}

/** The payload as UTF-8 text. */
export function payloadText(event: RecordedUserEvent): string {
  return new TextDecoder().decode(event.payload)
}

/** Every event recorded in `file` so far, in the order the handler ran; none when it is absent. */
export async function readRecords(file: string): Promise<RecordedUserEvent[]> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return ''
    throw error
  })
  return text.split('\n').flatMap((line) => parseRecord(line) ?? [])
}

/** Follows a recorder file: each `read()` returns the events appended since the last one. */
export class RecordTail {
  readonly #file: string
  readonly #decoder = new StringDecoder('utf8')
  readonly #buffer = Buffer.alloc(256 * 1024)
  #handle: FileHandle | undefined
  #offset = 0
  #partial = ''
  /** Reads run one after another, never two on the same offset. */
  #reads: Promise<unknown> = Promise.resolve()

  constructor(file: string) {
    this.#file = file
  }

  /** The events appended since the last read; none while the file does not exist yet. */
  read(): Promise<RecordedUserEvent[]> {
    const next = this.#reads.then(() => this.#readMore())
    this.#reads = next.catch(() => undefined)
    return next
  }

  async close(): Promise<void> {
    await this.#reads
    await this.#handle?.close()
    this.#handle = undefined
  }

  async #readMore(): Promise<RecordedUserEvent[]> {
    this.#handle ??= await open(this.#file, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined
      throw error
    })
    const events: RecordedUserEvent[] = []
    for (;;) {
      if (!this.#handle) return events
      const { bytesRead } = await this.#handle.read(this.#buffer, 0, this.#buffer.length, this.#offset)
      if (bytesRead === 0) return events
      this.#offset += bytesRead
      const lines = (this.#partial + this.#decoder.write(this.#buffer.subarray(0, bytesRead))).split('\n')
      this.#partial = lines.pop()!
      for (const line of lines) {
        const event = parseRecord(line)
        if (event) events.push(event)
      }
    }
  }
}
