#!/usr/bin/env node
/**
 * `serf-edge`: `serf event` from anywhere. Parses flags, environment and config file into one
 * typed target, calls the SDK, and turns its result or error into output and an exit code.
 * Runs in-process through `runCli` (tests, e2e) and as a script: `node client/cli.ts event …`.
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { utf8 } from '../protocol/bytes.ts'
import { formatDuration } from '../protocol/duration.ts'
import { CLUSTER_ID } from '../protocol/event.ts'
import { parseFlags, UsageError } from '../protocol/flags.ts'
import { generateEd25519Key, generateHmacKey, KeyFormatError } from '../protocol/signature.ts'
import type { EventStatus } from '../protocol/wire.ts'
import { auditCommand } from './cli-audit.ts'
import { type CliIo, edgeOptions, HELP_FLAGS, help, withKeySource } from './cli-common.ts'
import { EDGE_FLAGS, resolveEdgeSettings } from './cli-config.ts'
import { membersCommand } from './cli-members.ts'
import { devicesCommand, inviteCommand } from './cli-operators.ts'
import { queryCommand } from './cli-query.ts'

export type { CliIo }

import { keygenJson, keygenText } from './cli-keygen.ts'
import {
  AUDIT_HELP,
  acceptedText,
  DEFAULT_WAIT_MS,
  DEVICES_HELP,
  EVENT_HELP,
  EXIT_CODES,
  type ExitCode,
  INVITE_HELP,
  json,
  KEYGEN_HELP,
  MAIN_HELP,
  MEMBERS_HELP,
  QUERY_HELP,
  STATUS_HELP,
  settledText,
  statusText,
} from './cli-text.ts'
import {
  ClientConfigError,
  EdgeProblemError,
  EdgeUnreachableError,
  EventValidationError,
  EventWaitTimeoutError,
} from './errors.ts'
import { QueryValidationError } from './queries.ts'
import { type EdgeOptions, fireEvent, getEventStatus, waitForEvent } from './sdk.ts'

const HELP = HELP_FLAGS
const EVENT_FLAGS = {
  ...HELP,
  ...EDGE_FLAGS,
  coalesce: 'boolean',
  wait: 'duration?',
  json: 'boolean',
} as const
const STATUS_FLAGS = { ...HELP, ...EDGE_FLAGS, wait: 'duration?', json: 'boolean' } as const
const KEYGEN_FLAGS = {
  ...HELP,
  type: 'string',
  sender: 'string',
  cluster: 'string',
  'edge-url': 'string',
  config: 'string',
  json: 'boolean',
} as const

const COMMANDS: Record<string, { help: string; run: (args: string[], io: CliIo) => Promise<ExitCode> }> = {
  event: { help: EVENT_HELP, run: eventCommand },
  status: { help: STATUS_HELP, run: statusCommand },
  keygen: { help: KEYGEN_HELP, run: keygenCommand },
  audit: { help: AUDIT_HELP, run: auditCommand },
  query: { help: QUERY_HELP, run: queryCommand },
  members: { help: MEMBERS_HELP, run: membersCommand },
  invite: { help: INVITE_HELP, run: inviteCommand },
  devices: { help: DEVICES_HELP, run: devicesCommand },
}

/**
 * Run `serf-edge` with `argv` (without `node` and the script) and return the exit code.
 * @example
 * const code = await runCli(['event', '-coalesce=false', 'deploy', 'v2'], {
 *   stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: { SERF_EDGE_URL: url },
 * })
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...args] = argv
  const commandOf = (text: string | undefined) =>
    text !== undefined && Object.hasOwn(COMMANDS, text) ? COMMANDS[text] : undefined
  if (name === undefined || ['-h', '-help', '--help', 'help'].includes(name)) {
    const topic = name === 'help' ? commandOf(args[0]) : undefined
    ;(name === undefined ? io.stderr : io.stdout)(topic?.help ?? MAIN_HELP)
    return name === undefined ? EXIT_CODES.usage.code : EXIT_CODES.ok.code
  }
  const command = commandOf(name)
  try {
    if (!command) {
      throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})`)
    }
    return await command.run(args, io)
  } catch (error) {
    return report(error, io, command ? name : undefined)
  }
}

async function eventCommand(args: string[], io: CliIo): Promise<ExitCode> {
  const { flags, positionals } = parseFlags(args, EVENT_FLAGS)
  if (flags.h || flags.help) return help(io, EVENT_HELP)
  if (positionals.length === 0) throw new UsageError('an event name must be specified', 'event')
  if (positionals.length > 2) {
    const late = positionals.slice(2).find((arg) => arg.startsWith('-'))
    throw new UsageError(
      'too many command line arguments: only a name and a payload may be given' +
        (late ? ` (flags such as ${late} go before the name)` : ''),
      'event',
    )
  }
  const [name, payloadArg] = positionals
  const settings = await resolveEdgeSettings(flags, io.env)
  const edge = edgeOptions(settings, io, 'event')
  const payload = payloadArg === '-' ? await readStdin(io) : payloadArg
  const coalesce = flags.coalesce ?? true
  const accepted = await withKeySource(settings, () => fireEvent({ ...edge, name, payload, coalesce }))
  if (!flags.wait) {
    io.stdout(flags.json ? json(accepted) : acceptedText(accepted, name, coalesce))
    return EXIT_CODES.ok.code
  }
  // With -json and -wait, stdout carries one object: the final status.
  if (!flags.json) io.stdout(acceptedText(accepted, name, coalesce))
  return awaitOutcome(edge, accepted.id, flags.wait, io, flags.json)
}

async function statusCommand(args: string[], io: CliIo): Promise<ExitCode> {
  const { flags, positionals } = parseFlags(args, STATUS_FLAGS)
  if (flags.h || flags.help) return help(io, STATUS_HELP)
  if (positionals.length !== 1) throw new UsageError('give exactly one event id', 'status')
  const [id] = positionals
  const settings = await resolveEdgeSettings(flags, io.env)
  const edge = edgeOptions(settings, io, 'status')
  const { wait } = flags
  if (wait) return withKeySource(settings, () => awaitOutcome(edge, id, wait, io, flags.json))
  const status = await withKeySource(settings, () => getEventStatus({ ...edge, id }))
  io.stdout(flags.json ? json(status) : statusText(status))
  return outcome(status, io)
}

async function keygenCommand(args: string[], io: CliIo): Promise<ExitCode> {
  const { flags, positionals } = parseFlags(args, KEYGEN_FLAGS)
  if (flags.h || flags.help) return help(io, KEYGEN_HELP)
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`, 'keygen')
  }
  const type = flags.type ?? 'ed25519'
  if (type !== 'ed25519' && type !== 'hmac') {
    throw new UsageError(`-type must be ed25519 or hmac, not "${type}"`, 'keygen')
  }
  const { values, configPath } = await resolveEdgeSettings(flags, io.env)
  // The edge takes sender ids in the cluster-id alphabet; say so now, not at the first request.
  if (values.sender !== undefined && !CLUSTER_ID.test(values.sender)) {
    throw new UsageError(`sender id "${values.sender}" must be lower-case letters, digits, - and _`, 'keygen')
  }
  const key = type === 'hmac' ? generateHmacKey() : await generateEd25519Key()
  const context = {
    key,
    sender: values.sender,
    cluster: values.cluster,
    edgeUrl: values.edgeUrl,
    configPath,
  }
  io.stdout(flags.json ? keygenJson(context) : keygenText(context))
  return EXIT_CODES.ok.code
}

async function awaitOutcome(
  edge: EdgeOptions,
  id: string,
  wait: number | true,
  io: CliIo,
  asJson: boolean | undefined,
): Promise<ExitCode> {
  const timeoutMs = wait === true ? DEFAULT_WAIT_MS : wait
  try {
    const final = await waitForEvent({ ...edge, id, timeoutMs })
    io.stdout(asJson ? json(final) : settledText(final))
    return outcome(final, io)
  } catch (error) {
    if (!(error instanceof EventWaitTimeoutError)) throw error
    if (asJson && error.lastStatus) io.stdout(json(error.lastStatus))
    io.stderr(
      `serf-edge: event ${id} still queued after ${formatDuration(timeoutMs)}; ` +
        `check later with: serf-edge status ${id}\n`,
    )
    return EXIT_CODES.waitTimeout.code
  }
}

function outcome(status: EventStatus, io: CliIo): ExitCode {
  if (status.status === 'rejected') {
    const error = status.error ?? 'no error text'
    io.stderr(`serf-edge: Serf rejected event '${status.name}' (${status.id}): ${error}\n`)
    return EXIT_CODES.rejected.code
  }
  if (status.status === 'expired') {
    io.stderr(`serf-edge: event '${status.name}' (${status.id}) expired before a bridge delivered it\n`)
    return EXIT_CODES.expired.code
  }
  return EXIT_CODES.ok.code
}

function report(error: unknown, io: CliIo, command: string | undefined): ExitCode {
  const prefix = command ? `serf-edge ${command}` : 'serf-edge'
  if (error instanceof UsageError) {
    const helpOf = error.command ?? command
    io.stderr(`${prefix}: ${error.message}\nRun 'serf-edge${helpOf ? ` ${helpOf}` : ''} -h' for usage.\n`)
    return EXIT_CODES.usage.code
  }
  if (error instanceof ClientConfigError || error instanceof KeyFormatError) {
    io.stderr(`${prefix}: ${error.message}\n`)
    return EXIT_CODES.usage.code
  }
  if (error instanceof EventValidationError) {
    io.stderr(`${prefix}: invalid event, not sent: ${error.message}\n`)
    return EXIT_CODES.refused.code
  }
  if (error instanceof QueryValidationError) {
    io.stderr(`${prefix}: invalid query, not sent: ${error.message}\n`)
    return EXIT_CODES.refused.code
  }
  if (error instanceof EdgeProblemError) {
    const what = error.retryable ? 'the edge failed, and kept failing on retries' : 'the edge refused the request'
    const detail = `\n  ${error.detail || '(no detail)'}`
    const type = error.type === 'about:blank' ? '' : `\n  (${error.type})`
    io.stderr(`${prefix}: ${what}: ${error.status} ${error.title}${detail}${type}\n`)
    return error.retryable ? EXIT_CODES.unreachable.code : EXIT_CODES.refused.code
  }
  if (error instanceof EdgeUnreachableError) {
    io.stderr(`${prefix}: ${error.message}\n`)
    return EXIT_CODES.unreachable.code
  }
  throw error
}

async function readStdin(io: CliIo): Promise<Uint8Array> {
  if (!io.stdin) throw new UsageError('payload "-" reads stdin, but there is none', 'event')
  const chunks: Uint8Array[] = []
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? utf8(chunk) : chunk)
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}

function isScript(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
  } catch {
    return false
  }
}

/** Run `serf-edge` as a process: its arguments, standard streams and environment. */
export async function runFromProcess(): Promise<void> {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    stdin: process.stdin,
    // hasColors() honours NO_COLOR, FORCE_COLOR and TERM=dumb.
    color: process.stdout.isTTY && process.stdout.hasColors(),
  })
}

if (isScript()) await runFromProcess()
