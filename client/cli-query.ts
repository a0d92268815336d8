/** `serf-edge query`: `serf query` from anywhere, its acks and responses printed as they reach the edge. */
import { DurationError, parseDuration } from '../protocol/duration.ts'
import { parseFlags, UsageError } from '../protocol/flags.ts'
import { type CliIo, edgeOptions, HELP_FLAGS, help, withKeySource } from './cli-common.ts'
import { EDGE_FLAGS, resolveEdgeSettings } from './cli-config.ts'
import { EXIT_CODES, type ExitCode, QUERY_HELP } from './cli-text.ts'
import { type QueryEvent, query } from './queries.ts'

const QUERY_FLAGS = {
  ...HELP_FLAGS,
  ...EDGE_FLAGS,
  node: 'list',
  tag: 'list',
  timeout: 'string',
  'no-ack': 'boolean',
  'relay-factor': 'string',
  format: 'string',
} as const

/** Run `serf-edge query` with `args`. */
export async function queryCommand(args: string[], io: CliIo): Promise<ExitCode> {
  const { flags, positionals } = parseFlags(args, QUERY_FLAGS)
  if (flags.h || flags.help) return help(io, QUERY_HELP)
  if (positionals.length === 0) throw new UsageError('a query name must be specified', 'query')
  if (positionals.length > 2) {
    const late = positionals.slice(2).find((arg) => arg.startsWith('-'))
    throw new UsageError(
      'too many command line arguments: only a name and a payload may be given' +
        (late ? ` (flags such as ${late} go before the name)` : ''),
      'query',
    )
  }
  const format = flags.format ?? 'text'
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(`-format must be text or json, not "${format}"`, 'query')
  }
  const [name, payload] = positionals as [string, string | undefined]
  const noAck = flags['no-ack'] ?? false
  const options = {
    name,
    payload,
    nodes: flags.node,
    tags: parseTagFlags(flags.tag ?? [], 'query'),
    timeoutMs: flags.timeout === undefined ? undefined : timeoutFlag(flags.timeout),
    requestAck: !noAck,
    relayFactor: flags['relay-factor'] === undefined ? undefined : relayFactorFlag(flags['relay-factor']),
  }
  const settings = await resolveEdgeSettings(flags, io.env)
  const edge = edgeOptions(settings, io, 'query')
  const printer = format === 'json' ? new JsonPrinter(io) : new TextPrinter(io, name, noAck)
  const end = await withKeySource(settings, async () => {
    let last: End | undefined
    for await (const record of query({ ...edge, ...options, onAccepted: () => printer.accepted() })) {
      if (record.type === 'done') last = record
      else printer.record(record)
    }
    // query() always ends with its `done` record.
    return last!
  })
  printer.finished(end)
  if (end.state === 'done') return EXIT_CODES.ok.code
  io.stderr(`serf-edge query: query '${name}' (${end.status.id}) ${end.state}: ${end.error ?? 'no reason given'}\n`)
  return end.state === 'expired' ? EXIT_CODES.expired.code : EXIT_CODES.failed.code
}

/**
 * `-tag KEY=REGEXP` flags as a tag → regexp map, as Serf's CLI reads them.
 * @throws {UsageError} for a flag without `=` or with an empty key
 */
export function parseTagFlags(values: string[], command: string): Record<string, string> {
  const tags: Record<string, string> = {}
  for (const value of values) {
    const eq = value.indexOf('=')
    if (eq <= 0) throw new UsageError(`-tag takes KEY=REGEXP, not "${value}"`, command)
    tags[value.slice(0, eq)] = value.slice(eq + 1)
  }
  return tags
}

function timeoutFlag(text: string): number {
  try {
    return parseDuration(text)
  } catch (error) {
    if (!(error instanceof DurationError)) throw error
    throw new UsageError(`invalid value "${text}" for -timeout: use a duration such as 500ms, 5s or 1m`, 'query')
  }
}

function relayFactorFlag(text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n > 5) throw new UsageError('-relay-factor must be between 0 and 5', 'query')
  return n
}

type End = Extract<QueryEvent, { type: 'done' }>
type Answer = Exclude<QueryEvent, { type: 'done' }>

/** `serf query`'s text: a line per ack and response as it comes, then the totals. */
class TextPrinter {
  readonly #io: CliIo
  readonly #name: string
  readonly #noAck: boolean

  constructor(io: CliIo, name: string, noAck: boolean) {
    this.#io = io
    this.#name = name
    this.#noAck = noAck
  }

  accepted(): void {
    this.#io.stdout(`Query '${this.#name}' dispatched\n`)
  }

  record(record: Answer): void {
    if (record.type === 'ack') {
      this.#io.stdout(`Ack from '${record.node}'\n`)
      return
    }
    // As serf query: the payload as it is, less one trailing newline.
    const text = record.text ?? new TextDecoder().decode(record.payload)
    this.#io.stdout(`Response from '${record.node}': ${text.endsWith('\n') ? text.slice(0, -1) : text}\n`)
  }

  finished(end: End): void {
    if (end.state === 'expired') return
    if (!this.#noAck) this.#io.stdout(`Total Acks: ${end.status.totals.acks}\n`)
    this.#io.stdout(`Total Responses: ${end.status.totals.responses}\n`)
  }
}

/** `serf query -format=json`: one document at the end; `Acks` is null without any, as Serf's. */
class JsonPrinter {
  readonly #io: CliIo
  #acks: string[] | null = null
  readonly #responses: Record<string, string> = {}

  constructor(io: CliIo) {
    this.#io = io
  }

  accepted(): void {}

  record(record: Answer): void {
    if (record.type === 'ack') this.#acks = [...(this.#acks ?? []), record.node]
    else this.#responses[record.node] = record.text ?? new TextDecoder().decode(record.payload)
  }

  finished(_: End): void {
    this.#io.stdout(`${JSON.stringify({ Acks: this.#acks, Responses: this.#responses }, null, 2)}\n`)
  }
}
